// Evidence item 3: the error budget per phase and overall, what spent it (by cause) and what is left.

import { buildErrorBudgetLedger, errorBudgetMarkdown } from "../error-budget.js";
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
