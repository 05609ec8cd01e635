import type { StandardSchemaV1 } from "@standard-schema/spec";
import { validator } from "hono-openapi";
import { ValidationError } from "../core/errors.ts";

type Issue = StandardSchemaV1.Issue;

/** JSON Pointer (RFC 6901) of an issue's path, as problem+json `errors[].pointer`. */
export function pointerOf(issue: Issue): string {
  return pointerTo((issue.path ?? []).map((p) => (typeof p === "object" && p !== null ? p.key : p)));
}

/** JSON Pointer (RFC 6901) of a path of keys and indexes. */
export function pointerTo(path: readonly unknown[]): string {
  return path.map((p) => `/${String(p).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

function fail(where: string) {
  return (result: { success: boolean; error?: readonly Issue[] }) => {
    if (result.success) return;
    throw new ValidationError(
      `the ${where} is not valid`,
      (result.error ?? []).map((issue) => ({ pointer: pointerOf(issue), message: issue.message })),
    );
  };
}

/** Validates (and documents in OpenAPI) a JSON body; failures become a 400 problem with pointers. */
export const jsonOf = <S extends StandardSchemaV1>(schema: S) => validator("json", schema, fail("body"));
export const queryOf = <S extends StandardSchemaV1>(schema: S) => validator("query", schema, fail("query"));
export const paramsOf = <S extends StandardSchemaV1>(schema: S) => validator("param", schema, fail("path"));
