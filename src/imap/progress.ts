/**
 * INPROGRESS (RFC 9585): while a command that can take long (SEARCH, SORT,
 * THREAD, COPY, MOVE) is still working, the client is told so in untagged
 * `OK [INPROGRESS ("tag" NIL NIL)]` responses, so it can tell a busy server
 * from a dead connection and show the user something. Mailstead does not
 * know how far these commands have got, so count and total are NIL
 * (RFC 9585 §3 allows that).
 */
import type { CommandContext } from './state.js';

/** When the first progress response goes out and how often after that (tests lower them). */
export const progressTiming = { firstMs: 2000, everyMs: 10_000 };

/** `work`'s result; progress responses are sent while it runs past `progressTiming.firstMs`. */
export async function withProgress<T>(ctx: CommandContext, tag: string, work: Promise<T>, text: string): Promise<T> {
  let timer: NodeJS.Timeout | null = null;
  let done = false;
  let sending: Promise<void> = Promise.resolve();
  const tick = (): void => {
    if (done) return;
    // A progress response is only written after the previous one, and never after the command finished.
    sending = sending.then(async () => {
      if (done) return;
      await ctx.send({ type: 'status', tag: '*', status: 'OK', code: { name: 'INPROGRESS', value: [tag, null, null] }, text });
    });
    sending.catch(() => {});
    timer = setTimeout(tick, progressTiming.everyMs);
  };
  timer = setTimeout(tick, progressTiming.firstMs);
  try {
    return await work;
  } finally {
    done = true;
    if (timer) clearTimeout(timer);
    // The tagged reply must come after any progress response already being written.
    await sending.catch(() => {});
  }
}
