import type * as v from "valibot";

/** One line per bad or missing variable: `PORT must be a whole number`, `DATABASE_URL is required`. */
export function issueLines(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    // An item of a list names its place only when the list has more than one (AMQP_URL (item 2)).
    const key =
      issue.path
        ?.map((p) =>
          typeof p.key !== "number" ? String(p.key) : Array.isArray(p.input) && p.input.length > 1 ? ` (item ${p.key + 1})` : "",
        )
        .join(".")
        .replaceAll(". (", " (")
        .replace(/\.$/, "") ?? "environment";
    return issue.input === undefined ? `${key} is required` : `${key} ${issue.message}`;
  });
}
