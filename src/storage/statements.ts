type Makers = Record<string, () => object>;

/**
 * Statements prepared the first time they are used, then kept: a command reads a handful of the statements a
 * store, its runs and its loops can run, and preparing all of them at every open was a tenth of `ode session
 * list`'s own work. After its first use a statement is a plain property, as fast to reach as before.
 */
export function preparedOnUse<T extends Makers>(makers: T): { readonly [K in keyof T]: ReturnType<T[K]> } {
  const statements = {} as { [K in keyof T]: ReturnType<T[K]> };
  for (const [name, make] of Object.entries(makers)) {
    Object.defineProperty(statements, name, {
      configurable: true,
      get() {
        const statement = make();
        Object.defineProperty(statements, name, { value: statement });
        return statement;
      },
    });
  }
  return statements;
}
