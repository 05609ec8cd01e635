import type { Decider } from "./decider.ts";
import type { Command, Event } from "./messages.ts";

/**
 * given/when/then for deciders: `deciderSpec(decider).given(events).when(command).thenEmits(expected)` returns the
 * events the decider produced, and throws when they differ from `expected`; `.thenRejects(code)` expects a
 * rejection with that error code.
 */
export function deciderSpec<C extends Command, E extends Event, S>(decider: Decider<C, E, S>) {
  return {
    given(history: E[]) {
      const state = history.reduce(decider.evolve, decider.initialState());
      return {
        when(command: C) {
          const run = () => decider.decide(command, state);
          return {
            thenEmits(expected: E[]): E[] {
              const actual = run();
              const a = JSON.stringify(actual);
              const e = JSON.stringify(expected);
              if (a !== e) throw new Error(`expected events ${e}\n     but got ${a}`);
              return actual;
            },
            thenRejects(code: string): void {
              try {
                run();
              } catch (error) {
                const actual = (error as { code?: string }).code;
                if (actual === code) return;
                throw new Error(`expected an error with code ${code}, got ${actual ?? String(error)}`);
              }
              throw new Error(`expected an error with code ${code}, but the command was accepted`);
            },
          };
        },
      };
    },
  };
}
