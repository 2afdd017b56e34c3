// The war-room pages' stylesheet and script: small, served by the bot itself (no build step, no CDN).

import type { Verdict } from "../../gates/model/index.js";

/**
 * Each verdict's badge colour, white text on it at 4.5:1 or more (WCAG AA). A verdict missing here fails to
 * compile; the plain .badge rule behind them keeps any other word readable too.
 */
export const VERDICT_BADGE_COLOURS = {
  PASS: "#217a36",
  FAIL: "#c92a2a",
  ERROR: "#b35c00",
  PARTIAL: "#1864ab",
  INCONCLUSIVE: "#5f3dc4",
} as const satisfies Record<Verdict, string>;

const verdictBadgeRules = Object.entries(VERDICT_BADGE_COLOURS)
  .map(([verdict, colour]) => `.badge.${verdict} { background: ${colour}; }`)
  .join("\n");

export const STYLESHEET = `:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 0; color: #212529; background: #f1f3f5; line-height: 1.4; }
header.top { background: #212529; padding: 8px 24px; }
header.top a { color: #fff; text-decoration: none; font-weight: bold; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 32px; background: #fff; min-height: 100vh; }
h1 { font-size: 22px; margin: 4px 0; }
h2 { font-size: 17px; margin: 22px 0 6px; border-bottom: 1px solid #dee2e6; padding-bottom: 3px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 4px 0 10px; }
th, td { border: 1px solid #dee2e6; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f8f9fa; }
code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px; }
pre { background: #f8f9fa; border: 1px solid #dee2e6; padding: 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
progress { width: 120px; vertical-align: middle; }
.meta, .muted { color: #6c757d; }
.badge { color: #fff; background: #495057; padding: 1px 8px; border-radius: 4px; font-weight: bold; font-size: 12.5px; }
${verdictBadgeRules}
.state { padding: 0 6px; border-radius: 3px; font-size: 12px; background: #f1f3f5; }
.state.running { background: #d0ebff; color: #1864ab; } .state.queued, .state.pending { background: #fff3bf; color: #8a6d00; }
.state.done, .state.finished { background: #d3f9d8; color: #2b8a3e; } .state.failed, .state.lost { background: #ffe3e3; color: #c92a2a; }
#status { padding: 10px 14px; border-radius: 6px; font-weight: bold; margin: 10px 0; }
#status .reason { font-weight: normal; margin-top: 4px; }
#status .big .badge, #status .big .state { font-size: 16px; }
.status-GREEN { background: #ebfbee; border-left: 6px solid #2b8a3e; }
.status-YELLOW { background: #fff9db; border-left: 6px solid #f08c00; }
.status-RED { background: #fff5f5; border-left: 6px solid #c92a2a; }
.ok { color: #2b8a3e; font-weight: bold; } .bad { color: #c92a2a; font-weight: bold; }
.label { font-size: 12px; background: #e9ecef; padding: 1px 6px; border-radius: 3px; font-weight: normal; }
.closed-loop { background: #f8f9fa; border-left: 4px solid #868e96; padding: 6px 10px; }
.signoff { padding: 1px 6px; border-radius: 3px; font-weight: bold; }
.signoff.success { background: #d3f9d8; } .signoff.pending { background: #fff3bf; } .signoff.failure { background: #ffe3e3; }
.chart { max-width: 100%; height: auto; display: block; margin: 4px 0; }
.filters label { margin-right: 10px; font-size: 13px; }
.problem { background: #fff5f5; border: 1px solid #ffc9c9; padding: 8px 12px; }
td.reason { max-width: 340px; overflow-wrap: anywhere; }
`;

export const SCRIPT = `// Live war room: the server sends the re-rendered live section as server-sent events.
"use strict";
(function () {
  var main = document.querySelector("main[data-events]");
  var live = document.getElementById("live");
  if (!main || !live || !window.EventSource) return;
  var source = new EventSource(main.getAttribute("data-events"));
  source.addEventListener("run", function (e) {
    var d = JSON.parse(e.data);
    live.innerHTML = d.html;
    document.title = d.title;
  });
  source.addEventListener("end", function () { source.close(); });
})();
`;
