import { type AuthConfig, loadAuthConfig } from "../auth-config.ts";
import { ConfigError } from "../core/errors.ts";
import { ADMIN_ROLE } from "../http/auth/identity.ts";
import { signToken } from "../http/auth/sign-token.ts";
import type { AnyApp } from "./process-kit.ts";

/** `token --subject <id> --role <role> --ttl <seconds>`, with the app's own name for the subject flag. */
export function tokenUsage(app: AnyApp): string {
  const flag = app.auth?.subjectFlag ?? "subject";
  const roles = [...(app.auth?.roles ?? []), ADMIN_ROLE].join("|");
  return `token [--${flag} <id>] [--role <${roles}>]... [--ttl <seconds>]`;
}

/**
 * Prints a signed bearer token for local use: HS256 with AUTH_JWT_SECRET, or the development secret when
 * none is set. Needs no database, so it works before anything runs.
 */
export async function runToken(app: AnyApp, env: Record<string, string | undefined>, args: string[]): Promise<void> {
  const fail = (message: string) => {
    process.stderr.write(`token: ${message}\nusage: ${tokenUsage(app)}\n`);
    process.exitCode = 2;
  };
  let auth: AuthConfig;
  try {
    auth = loadAuthConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const p of error.problems) process.stderr.write(`config: ${p}\n`);
    process.exitCode = 1;
    return;
  }
  const { secret, issuer, audience, rolesClaim } = auth.jwt;
  if (!secret) return fail("with AUTH_JWKS_URL set, tokens come from the identity provider");
  const subjectFlags = new Set(["--subject", `--${app.auth?.subjectFlag ?? "subject"}`]);
  const known = app.auth?.roles ? new Set([...app.auth.roles, ADMIN_ROLE]) : undefined;
  let subject: string | undefined;
  const roles: string[] = [];
  let ttl = 12 * 3600;
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i] as string, args[i + 1]];
    if (value === undefined || value.startsWith("--")) return fail(`${flag} needs a value`);
    if (subjectFlags.has(flag)) subject = value;
    else if (flag === "--role") {
      if (known && !known.has(value)) return fail(`unknown role ${value}`);
      roles.push(value);
    } else if (flag === "--ttl" && /^\d+$/.test(value) && Number(value) > 0) ttl = Number(value);
    else return fail(`unknown or bad argument ${flag} ${value}`);
  }
  if (!subject && roles.length === 0) return fail("give a subject, a role, or both");
  const token = await signToken(
    { secret, issuer, audience, rolesClaim },
    { subject: subject ?? `staff-${roles.join("-")}`, roles, expiresInSeconds: ttl },
  );
  process.stdout.write(`${token}\n`);
}
