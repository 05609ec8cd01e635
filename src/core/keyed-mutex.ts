/**
 * Runs tasks one at a time per key, in arrival order. Commands on one stream from one process queue here
 * instead of racing each other into version conflicts; other processes are still caught by the store's
 * expected-version check.
 */
export type KeyedMutex = { run<T>(key: string, task: () => Promise<T>): Promise<T>; size(): number };

export function createKeyedMutex(): KeyedMutex {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run(key, task) {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(task, task);
      const tail = result.catch(() => undefined);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    size: () => tails.size,
  };
}
