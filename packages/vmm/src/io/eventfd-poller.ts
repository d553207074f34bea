// The kick poller: watch eventfds (the queue ioeventfds of devices served on the main thread) and
// call back on the main thread when one fires, so the main event loop never blocks and a guest's
// kick never needs a vCPU exit to userspace.
//
// The wait is one poll(2) made as koffi's asynchronous call: it runs on a thread of libuv's pool,
// which has no JavaScript isolate. A Node worker thread for it cost ~8 MiB of private memory and a
// thread start at the first kick (docs/benchmarks.md). One wait serves every poller of the process
// (every VM's), so the process holds at most one thread of the pool, and only while something is
// watched: the other three stay for the file system work that uses them.
//
// Kicks are coalesced: the wait ends at the first fired eventfd, and nothing more is queued for
// the main thread until its callback runs, however busy the main thread is and however fast the
// guest kicks. The callback drains each fired eventfd (its counter holds every kick since) and
// calls each watcher once.
import { createHostNotifier, type EventNotifier } from '@vmm/hypervisor';
import { POLLFD_REVENTS, POLLFD_SIZE, POLLIN, bindPoll, pollTable, type PollCall } from './pollfd';

interface Watch {
  notifier: EventNotifier;
  onFire: () => void;
  owner: EventfdPoller;
  /** False once unwatched: its fd may be closed, or even reused, before the wait returns. */
  live: boolean;
}

/** What every poller of the process shares: the watches and the one wait in flight. */
const shared = {
  watches: [] as Watch[],
  /** Written when the watches change, so that a wait in flight returns and is made again. */
  wake: undefined as EventNotifier | undefined,
  /** The wait in flight: its table and the watches it was made for ([0] is the wake-up). */
  waiting: undefined as { table: Uint8Array; view: DataView; armed: Watch[] } | undefined,
  /** The table of the last wait, kept while the watches do not change (no allocation per kick). */
  ready: undefined as { table: Uint8Array; view: DataView; armed: Watch[] } | undefined,
  /** Called when the wait in flight returns (close() waits for it: it holds the watched fds). */
  onReturn: [] as (() => void)[],
  poll: undefined as PollCall | undefined,
};
/** The watches a callback found fired (reused: nothing is allocated per kick but koffi's call). */
const fired: Watch[] = [];

function arm(): void {
  if (shared.waiting || shared.watches.length === 0) return;
  const wake = (shared.wake ??= createHostNotifier());
  const poll = (shared.poll ??= bindPoll());
  let w = shared.ready;
  if (!w) {
    const armed = shared.watches.slice();
    const table = pollTable([wake.fd, ...armed.map((x) => x.notifier.fd)]);
    w = shared.ready = { table, view: new DataView(table.buffer), armed };
  }
  shared.waiting = w;
  poll.async(w.table, w.armed.length + 1, -1, onPolled);
}

function onPolled(): void {
  const w = shared.waiting!;
  shared.waiting = undefined;
  if (shared.onReturn.length > 0) for (const r of shared.onReturn.splice(0)) r();
  // poll(2)'s result is not needed: every revents is read (a failed poll, EINTR, leaves them 0).
  if ((w.view.getInt16(POLLFD_REVENTS, true) & POLLIN) !== 0) shared.wake?.drain();
  fired.length = 0;
  for (let i = 0; i < w.armed.length; i++) {
    const at = (i + 1) * POLLFD_SIZE + POLLFD_REVENTS;
    const rev = w.view.getInt16(at, true);
    w.view.setInt16(at, 0, true);
    const x = w.armed[i]!;
    // Only a readable eventfd is a kick; POLLNVAL/POLLERR (an fd closed under us) is not.
    if ((rev & POLLIN) === 0 || !x.live) continue;
    try {
      x.notifier.drain();
    } catch {
      continue; // closed by its owner without an unwatch: nothing to report
    }
    fired.push(x);
  }
  w.view.setInt16(POLLFD_REVENTS, 0, true);
  // Wait again before the watchers run: kicks during their work end the next wait at once.
  arm();
  if (!shared.waiting) {
    shared.wake?.close(); // nothing watched: no fd and no thread of the pool is held
    shared.wake = undefined;
  }
  let counted: EventfdPoller | undefined;
  for (const x of fired) {
    if (x.owner !== counted) x.owner.messages++;
    counted = x.owner;
    if (x.live) x.onFire();
  }
}

/** The watches changed: the next wait uses a new table, and a wait in flight returns for it. */
function changed(): void {
  shared.ready = undefined;
  if (shared.waiting) shared.wake!.signal();
  else arm();
}

export class EventfdPoller {
  private armed = false;
  /** Callbacks that found one of this poller's eventfds fired (each calls its watchers once). */
  messages = 0;

  /** Whether this poller ever waited for a kick: one whose VM has no such device never does. */
  get started(): boolean {
    return this.armed;
  }

  /** Call `onFire` (on the main thread) each time `notifier` is signalled; it is drained for you. */
  watch(notifier: EventNotifier, onFire: () => void): void {
    this.armed = true;
    shared.watches.push({ notifier, onFire, owner: this, live: true });
    changed();
  }

  /** Stop watching every notifier (before they are closed: their fds may then be reused). */
  unwatchAll(): void {
    let any = false;
    for (const x of shared.watches) {
      if (x.owner !== this) continue;
      x.live = false;
      any = true;
    }
    if (!any) return;
    shared.watches = shared.watches.filter((x) => x.live);
    changed();
  }

  /** Stop watching; resolves once no wait holds this poller's eventfds (and, if it was the last
   *  poller watching, once the process holds no thread of the pool for it). */
  async close(): Promise<void> {
    this.unwatchAll();
    // A wait made before the watches last changed was woken (changed()) and returns soon.
    if (shared.waiting && !shared.ready) await new Promise<void>((r) => shared.onReturn.push(r));
  }
}
