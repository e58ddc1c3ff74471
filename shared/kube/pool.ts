/** Runs `work` for each item with at most `limit` in flight; the first error stops new starts. */
export async function forEachLimited<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        await work(items[i], i);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

/** Like forEachLimited, but runs every item and returns all errors. */
export async function settleLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<{ item: T; error: unknown }[]> {
  const errors: { item: T; error: unknown }[] = [];
  await forEachLimited(items, limit, async (item) => {
    try {
      await work(item);
    } catch (error) {
      errors.push({ item, error });
    }
  });
  return errors;
}
