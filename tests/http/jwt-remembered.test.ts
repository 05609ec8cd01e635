import { describe, expect, it } from "bun:test";
import { createJwtAuthenticator } from "../../src/http/auth/jwt-authenticator.ts";
import { signToken } from "../../src/http/auth/sign-token.ts";

const settings = { secret: "a-secret-for-the-remembering-tests-0123", issuer: "i", audience: "a", clockSkewSeconds: 5 };

describe("verified tokens remembered by one process", () => {
  it("stop being accepted once they expire, skew included, though their signature was checked before", async () => {
    let clock = Date.now();
    const verify = createJwtAuthenticator({ ...settings, now: () => clock });
    const token = await signToken(settings, { subject: "s", expiresInSeconds: 60 });
    expect((await verify(token)).subject).toBe("s");
    clock += 64_000;
    expect((await verify(token)).subject).toBe("s");
    clock += 2_000;
    await expect(verify(token)).rejects.toThrow("expired");
  });

  it("are remembered by the whole token, so one with an altered signature is checked and refused", async () => {
    const verify = createJwtAuthenticator(settings);
    const token = await signToken(settings, { subject: "s", roles: ["support"] });
    await verify(token);
    const last = token.at(-2) === "A" ? "B" : "A";
    await expect(verify(`${token.slice(0, -2)}${last}${token.at(-1)}`)).rejects.toThrow();
    const claims = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString());
    const forged = [
      token.split(".")[0],
      Buffer.from(JSON.stringify({ ...claims, roles: ["admin"] })).toString("base64url"),
      token.split(".")[2],
    ];
    await expect(verify(forged.join("."))).rejects.toThrow("signature");
  });
});
