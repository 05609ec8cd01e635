import { describe, expect, it } from "bun:test";
import { isClosedSocketWrite } from "../../src/processes/crash-guard.ts";

function errorFrom(message: string, frame: string) {
  const error = new TypeError(message);
  error.stack = `TypeError: ${message}\n    at nextWrite (${frame}:255:15)`;
  return error;
}

describe("the crash guard", () => {
  it("recognises the driver's write on a closed socket", () => {
    expect(
      isClosedSocketWrite(
        errorFrom("null is not an object (evaluating 'socket.write')", "/app/node_modules/postgres/src/connection.js"),
      ),
    ).toBe(true);
  });

  it("lets every other error end the process", () => {
    expect(
      isClosedSocketWrite(
        errorFrom("null is not an object (evaluating 'socket.write')", "/app/src/consumers/consumer-runtime.ts"),
      ),
    ).toBe(false);
    expect(isClosedSocketWrite(errorFrom("x is undefined", "/app/node_modules/postgres/src/connection.js"))).toBe(false);
    expect(isClosedSocketWrite(new Error("socket.write failed"))).toBe(false);
  });
});
