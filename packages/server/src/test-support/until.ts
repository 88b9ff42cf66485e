/**
 * Resolves once `condition` holds, asking again every `everyMs` (an event-driven wait for tests:
 * no time bound of its own, the test's timeout is the bound; never a check of speed).
 */
export async function until(condition: () => boolean | Promise<boolean>, everyMs = 5): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, everyMs))
}
