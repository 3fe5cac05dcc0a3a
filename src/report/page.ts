import { html, trusted, type Html } from "./html.js";

// Everything the page needs is in the file: no font, script, style or image is fetched, and the content security
// policy forbids any request, so a report opened from a bug tracker cannot call anywhere even if a value tried to.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

const STYLE = `
:root{--ok:#2e9d5b;--aborted:#d23c3c;--error:#e0861e;--run:#5a6b7d;--tool:#3b7dd8;--step:#7b61c9;--title:#1e9aa0;--dim:#6b7280;--line:#e3e6ea}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:20px 28px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:18px;margin:24px 0 8px}h3{font-size:15px;margin:20px 0 8px}
code,pre{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,monospace}
.dim{color:var(--dim);font-weight:normal}
.sanitized{background:#fff6d6;border:1px solid #e8d48a;padding:6px 10px;border-radius:4px}
table.facts{border-collapse:collapse;font-size:13px}
.facts th{text-align:left;color:var(--dim);font-weight:normal;padding:2px 16px 2px 0;vertical-align:top}
.facts td{padding:2px 0}
.outcome{font-weight:600}.outcome.completed{color:var(--ok)}.outcome.aborted{color:var(--aborted)}.outcome.error{color:var(--error)}
.timeline{border:1px solid var(--line);border-radius:6px;padding:6px 10px 10px;overflow:hidden}
.lane,.scale{display:grid;grid-template-columns:96px 1fr;align-items:start;border-top:1px solid var(--line)}
.scale{border-top:0}
.lane-name{font-size:12px;color:var(--dim);padding-top:4px}
.track{position:relative;height:26px;margin-right:8px}
.scale .track{height:20px}
.tick{position:absolute;top:2px;font-size:11px;color:var(--dim);border-left:1px solid #c9ced4;padding-left:3px;white-space:nowrap}
.gap{position:absolute;top:0;height:18px;font-size:10px;color:var(--dim);text-align:center;overflow:hidden;white-space:nowrap;
  background:repeating-linear-gradient(135deg,#eef0f3 0 4px,#fff 4px 8px)}
.bar{position:absolute;height:16px;min-width:2px;border-radius:3px;color:#fff;font-size:11px;
  line-height:16px;padding:0 3px;overflow:hidden;white-space:nowrap;text-decoration:none;background:var(--tool)}
.bar:hover{outline:2px solid #111;z-index:1}
.bar.run{background:var(--run)}.bar.run.completed{background:var(--ok)}.bar.run.aborted{background:var(--aborted)}.bar.run.error{background:var(--error)}
.bar.step{background:var(--step)}.bar.step.aborted{background:var(--aborted)}.bar.step.error{background:var(--error)}
.bar.tool.error{background:var(--error)}.bar.tool.running,.bar.tool.pending{background:#9aa4b1}
.bar.title{background:var(--title)}.bar.title.failed{background:var(--error)}.bar.title.skipped,.bar.title.unused{background:#9aa4b1}
.abort{position:absolute;height:24px;width:0;border-left:2px solid #8b0000;z-index:2;text-decoration:none}
.abort .flag{position:absolute;left:0;top:4px;background:#8b0000;color:#fff;font-size:10px;line-height:14px;padding:1px 4px;white-space:nowrap;border-radius:0 3px 3px 0}
.abort .tip{display:none;position:absolute;left:0;top:24px;background:#1f2328;color:#fff;font-size:12px;padding:6px 8px;border-radius:4px;width:max-content;max-width:560px}
.abort.flip .flag{left:auto;right:0;border-radius:3px 0 0 3px}.abort.flip .tip{left:auto;right:0}
.abort:hover .tip,.abort:focus .tip{display:block}
ol.aborts{margin:8px 0;padding-left:22px;font-size:13px}
.conversation{border-top:1px solid var(--line)}
.turn{border-bottom:1px solid var(--line);padding:8px 0;content-visibility:auto;contain-intrinsic-size:auto 240px}
.turn-head{font-weight:600;font-size:13px;margin-bottom:4px}
.msg{margin:6px 0 6px 12px;padding-left:10px;border-left:3px solid var(--line)}
.msg.user{border-color:#9aa4b1}.msg.assistant{border-color:var(--step)}
.who{font-size:12px;font-weight:600;color:#444}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;border-radius:4px;padding:6px 8px;margin:4px 0;max-height:420px;overflow:auto}
.text pre{background:none;padding:0;font:inherit}
details{margin:4px 0}summary{cursor:pointer;font-size:13px}
details.tool{border:1px solid var(--line);border-radius:4px;padding:2px 8px}
details.tool.error{border-color:#f0c08a}
.label{font-size:11px;color:var(--dim);margin-top:4px}
.omitted{font-size:12px;color:var(--dim);font-style:italic}
.error{color:#9a3b00}
.abort-note{background:#fdecec;border:1px solid #f3b5b5;border-radius:4px;padding:6px 10px;margin:6px 0;font-size:13px}
.hit{outline:3px solid #f5c518;outline-offset:2px}
table.loop{border-collapse:collapse;width:100%;font-size:13px}
.loop th{text-align:left;font-weight:600;color:var(--dim);border-bottom:1px solid var(--line);padding:4px 8px 4px 0;white-space:nowrap}
.loop td{border-bottom:1px solid var(--line);padding:4px 8px 4px 0;vertical-align:middle;white-space:nowrap}
.loop td.span{width:40%;white-space:normal}
.loop .track{height:20px;margin:0;overflow:hidden}
.stop{font-size:16px;padding:8px 12px;border-radius:6px;margin:8px 0;background:#eef6f0;border:1px solid #b9dcc4}
.stop.bad{background:#fdecec;border-color:#f3b5b5}
.iteration{border-top:3px solid var(--step);margin-top:28px}
`;

// Only an enhancement: following a link to a collapsed tool call opens it; the page reads the same without it.
const SCRIPT = `
(function(){
  function data(conv){return conv.turnData||(conv.turnData=JSON.parse(conv.querySelector("script.turn-data").textContent));}
  function fill(d){
    if(d.dataset.filled)return;
    d.querySelector(".turns-body").innerHTML=data(d.closest(".conversation"))[+d.dataset.group].join("");
    d.dataset.filled="1";
  }
  function esc(s){return s.replace(/&/g,"&amp;").replace(/</g,"&lt;").replace(/>/g,"&gt;").replace(/"/g,"&quot;").replace(/'/g,"&#39;");}
  // A link into a turn that is not drawn yet: find its group, draw it, then follow the link.
  function load(id){
    var needle='id="'+esc(id)+'"',lazy=document.querySelectorAll("details.turns-lazy");
    for(var i=0;i<lazy.length;i++){
      var turns=data(lazy[i].closest(".conversation"))[+lazy[i].dataset.group];
      for(var j=0;j<turns.length;j++)if(turns[j].indexOf(needle)>=0){fill(lazy[i]);return document.getElementById(id);}
    }
    return null;
  }
  function reveal(){
    var id=decodeURIComponent(location.hash.slice(1));if(!id)return;
    var el=document.getElementById(id)||load(id);if(!el)return;
    for(var p=el;p;p=p.parentElement){if(p.tagName==="DETAILS")p.open=true;}
    el.scrollIntoView({block:"center"});
    var old=document.querySelector(".hit");if(old)old.classList.remove("hit");
    el.classList.add("hit");
  }
  document.addEventListener("toggle",function(e){var d=e.target;if(d.open&&d.classList&&d.classList.contains("turns-lazy"))fill(d);},true);
  window.addEventListener("hashchange",reveal);
  if(location.hash)reveal();
})();
`;

export function page(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${CSP}"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title><style>${trusted(STYLE)}</style></head>
<body>${body}<script>${trusted(SCRIPT)}</script></body></html>
`.text;
}
