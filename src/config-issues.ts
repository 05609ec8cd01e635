import type * as v from "valibot";

/** One line per bad or missing variable: `PORT must be a whole number`, `DATABASE_URL is required`. */
export function issueLines(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const key = issue.path?.map((p) => String(p.key)).join(".") ?? "environment";
    return issue.input === undefined ? `${key} is required` : `${key} ${issue.message}`;
  });
}
