/** A document that is not valid UTF-8 or not valid JSON; the message starts with where (line and column). */
export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
}
