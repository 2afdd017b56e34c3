// Evidence item 3: the error budget per phase and overall, what spent it (by cause) and what is left.

import { buildErrorBudgetLedger, type ErrorBudgetLedger } from "../../verdict/index.js";
import { formatCount, formatPercent } from "../../model/index.js";
import { markdownTable } from "../report/report-format.js";
import { reportItem } from "./report-item.js";

export const errorBudgetLedger = reportItem({
  id: "error_budget_ledger",
  number: 3,
  title: "Error budget ledger",
  path: "03-error-budget",
  file: "ledger",
  render(run) {
    const ledger = buildErrorBudgetLedger(run);
    return { json: ledger, markdown: errorBudgetMarkdown(ledger) };
  },
});

export function errorBudgetMarkdown(ledger: ErrorBudgetLedger): string {
  const shareText = ledger.allowedShare === null ? "0" : formatPercent(ledger.allowedShare);
  const rows = [...ledger.phases, ledger.overall].map((l) => [
    l.scope,
    l.ran ? formatCount(l.sent) : "—",
    l.ran ? `${shareText} of ${formatCount(l.sent)} = ${formatCount(l.allowed)}` : "—",
    formatCount(l.spent),
    l.byCause.length ? l.byCause.map((c) => `${c.cause}: ${formatCount(c.count)}`).join(", ") : "none",
    l.ran ? formatCount(l.left) : "—",
    l.status,
  ]);
  return [
    "# Error budget ledger",
    "",
    `Budget from the gate's SLO ${ledger.source}. A failed request is any non-2xx answer, timeout or transport error, as the runner counted it.`,
    "",
    markdownTable(["Scope", "Requests sent", "Allowed", "Spent", "Spent on", "Left", "Status"], rows),
    "",
  ].join("\n");
}
