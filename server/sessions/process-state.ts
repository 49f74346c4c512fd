/**
 * The life of one agent process group as a single state machine, and the
 * rules that decide how it ends. Pure: no timers, signals or pipes; the
 * caller performs the returned actions.
 *
 *   starting --spawned--> running --finish_soon--> finishing
 *   starting --spawn_failed--> failed_to_start
 *   running | finishing --stop, timeout, stall, finish_due--> terminating (SIGTERM sent)
 *   terminating --kill_due--> killing (SIGKILL sent)
 *   running | finishing | terminating | killing --leader_exited--> leader_exited (reaping the group)
 *   leader_exited --group_gone--> draining --drained--> done
 */

export type ProcessEndReason = 'exited' | 'killed' | 'timed_out' | 'stalled' | 'stopped' | 'failed_to_start';

export interface ProcessEnd {
  /**
   * 'exited' = ended by itself (any code); 'killed' = died of a signal nobody
   * here sent (e.g. the OOM killer); timed_out/stalled/stopped = we ended it
   * for that reason (whatever signal finished it).
   */
  reason: ProcessEndReason;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** For failed_to_start: "agent CLI not found: <file>" (ENOENT), "agent CLI is not executable: <file>" (EACCES), or the spawn error message. */
  error: string | null;
}

export type StopReason = 'stopped' | 'timed_out' | 'stalled';

/**
 * Why we are ending the group: a stop reason, or 'finish' when the agent has
 * reported completion and only lingers (its end is then its own exit).
 */
export type EndRequest = StopReason | 'finish';

export interface LeaderExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** What has gone to the group since its leader exited (to end its leftovers). */
export type LeftoverSignals = { sent: 'nothing' } | { sent: 'SIGTERM' } | { sent: 'SIGKILL'; at: number };

export type ProcessState =
  /** spawn() gave no pid: its 'error' event follows. */
  | { phase: 'starting' }
  | { phase: 'running' }
  /** The agent reported completion: SIGTERM at `deadline` (performance.now()) if it is still there. */
  | { phase: 'finishing'; deadline: number }
  /** SIGTERM has gone to the group; SIGKILL follows after the grace. */
  | { phase: 'terminating'; request: EndRequest }
  | { phase: 'killing'; request: EndRequest; killSentAt: number }
  /** The leader is gone, its end classified; waiting for the rest of its group to end. */
  | { phase: 'leader_exited'; end: ProcessEnd; leftovers: LeftoverSignals }
  /** Nothing of the group runs any more: reading what is left in the pipes. */
  | { phase: 'draining'; end: ProcessEnd }
  | { phase: 'done'; end: ProcessEnd }
  | { phase: 'failed_to_start'; end: ProcessEnd };

export type ProcessEvent =
  | { type: 'spawned' }
  | { type: 'spawn_failed'; error: string }
  /** stop() from outside; the first reason wins. */
  | { type: 'stop'; reason: StopReason }
  /** The timeout or the stall timer fired; they only count while running. */
  | { type: 'timed_out' }
  | { type: 'stalled' }
  | { type: 'finish_soon'; deadline: number }
  | { type: 'finish_due' }
  /** The grace after SIGTERM is over and the group may still be there. */
  | { type: 'kill_due'; at: number }
  | ({ type: 'leader_exited' } & LeaderExit)
  /** After the leader exited, a member of its group still runs. */
  | { type: 'leftovers_found' }
  | { type: 'group_gone' }
  | { type: 'drained' };

export type ProcessAction =
  /** Clear the timeout, stall and finish timers. */
  | { type: 'disarm_run_timers' }
  /** (Re)arm the finish timer for `deadline` (performance.now()). */
  | { type: 'arm_finish_timer'; deadline: number }
  /** SIGTERM to the group, and arm the kill timer. */
  | { type: 'send_sigterm' }
  | { type: 'send_sigkill' }
  /** Wait for the whole group to end. */
  | { type: 'reap_group' }
  /** Clear the kill timer and read the pipes to their end. */
  | { type: 'drain_output' }
  /** Close the pipes and report `end`. */
  | { type: 'settle'; end: ProcessEnd };

export interface Transition {
  state: ProcessState;
  actions: ProcessAction[];
}

export const INITIAL_STATE: ProcessState = { phase: 'starting' };

/** Every change of state, in one place. An event that does not apply to a state leaves it as it is. */
export function transition(state: ProcessState, event: ProcessEvent): Transition {
  const unchanged: Transition = { state, actions: [] };
  switch (state.phase) {
    case 'starting':
      if (event.type === 'spawned') return { state: { phase: 'running' }, actions: [] };
      if (event.type === 'spawn_failed') {
        const end: ProcessEnd = { reason: 'failed_to_start', exitCode: null, signal: null, error: event.error };
        return { state: { phase: 'failed_to_start', end }, actions: [{ type: 'settle', end }] };
      }
      return unchanged;

    case 'running':
      switch (event.type) {
        case 'stop':
          return terminate(event.reason);
        case 'timed_out':
          return terminate('timed_out');
        case 'stalled':
          return terminate('stalled');
        case 'finish_soon':
          return {
            state: { phase: 'finishing', deadline: event.deadline },
            actions: [DISARM_RUN_TIMERS, { type: 'arm_finish_timer', deadline: event.deadline }],
          };
        case 'leader_exited':
          return leaderExited(null, event, { sent: 'nothing' });
        default:
          return unchanged;
      }

    case 'finishing':
      switch (event.type) {
        // Ending it early changes nothing about its end: the agent has already reported.
        case 'stop':
        case 'finish_due':
          return terminate('finish');
        case 'finish_soon':
          // The earliest deadline asked for wins.
          if (event.deadline >= state.deadline) return unchanged;
          return {
            state: { phase: 'finishing', deadline: event.deadline },
            actions: [{ type: 'arm_finish_timer', deadline: event.deadline }],
          };
        case 'leader_exited':
          return leaderExited('finish', event, { sent: 'nothing' });
        default:
          return unchanged;
      }

    case 'terminating':
      if (event.type === 'kill_due') {
        return { state: { phase: 'killing', request: state.request, killSentAt: event.at }, actions: [SEND_SIGKILL] };
      }
      if (event.type === 'leader_exited') return leaderExited(state.request, event, { sent: 'SIGTERM' });
      return unchanged;

    case 'killing':
      if (event.type === 'leader_exited') {
        return leaderExited(state.request, event, { sent: 'SIGKILL', at: state.killSentAt });
      }
      return unchanged;

    case 'leader_exited':
      switch (event.type) {
        case 'leftovers_found':
          // An agent must not keep working unobserved: what its leader left running is ended too.
          if (state.leftovers.sent !== 'nothing') return unchanged;
          return { state: { ...state, leftovers: { sent: 'SIGTERM' } }, actions: [SEND_SIGTERM] };
        case 'kill_due':
          if (state.leftovers.sent !== 'SIGTERM') return unchanged;
          return { state: { ...state, leftovers: { sent: 'SIGKILL', at: event.at } }, actions: [SEND_SIGKILL] };
        case 'group_gone':
          return { state: { phase: 'draining', end: state.end }, actions: [{ type: 'drain_output' }] };
        default:
          return unchanged;
      }

    case 'draining':
      if (event.type === 'drained') return { state: { phase: 'done', end: state.end }, actions: [{ type: 'settle', end: state.end }] };
      return unchanged;

    case 'done':
    case 'failed_to_start':
      return unchanged;
  }
}

const DISARM_RUN_TIMERS: ProcessAction = { type: 'disarm_run_timers' };
const SEND_SIGTERM: ProcessAction = { type: 'send_sigterm' };
const SEND_SIGKILL: ProcessAction = { type: 'send_sigkill' };

function terminate(request: EndRequest): Transition {
  return { state: { phase: 'terminating', request }, actions: [DISARM_RUN_TIMERS, SEND_SIGTERM] };
}

function leaderExited(request: EndRequest | null, exit: LeaderExit, leftovers: LeftoverSignals): Transition {
  return {
    state: { phase: 'leader_exited', end: classifyEnd(request, exit), leftovers },
    actions: [DISARM_RUN_TIMERS, { type: 'reap_group' }],
  };
}

/**
 * How a leader's exit is reported, given why (if at all) we were ending the
 * group when it exited: a stop reason is kept whatever signal ended it; after
 * the agent reported completion it is its own exit; otherwise a death by
 * signal is a kill by someone else (we had sent nothing).
 */
export function classifyEnd(request: EndRequest | null, exit: LeaderExit): ProcessEnd {
  const { exitCode, signal } = exit;
  if (request !== null && request !== 'finish') return { reason: request, exitCode, signal, error: null };
  if (request === null && signal !== null) return { reason: 'killed', exitCode, signal, error: null };
  return { reason: 'exited', exitCode, signal, error: null };
}

/** When SIGKILL went to the group, or null while it has not. */
export function killSentAt(state: ProcessState): number | null {
  if (state.phase === 'killing') return state.killSentAt;
  if (state.phase === 'leader_exited' && state.leftovers.sent === 'SIGKILL') return state.leftovers.at;
  return null;
}

export type StallCheck = { stalled: true } | { stalled: false; recheckInMs: number };

/**
 * Whether a run that has been silent for `quietMs` has stalled. Silent
 * because we stopped reading (the consumer holds the output) is not a stall:
 * the clock restarts when reading resumes.
 */
export function checkStall(quietMs: number, stallMs: number, outputPaused: boolean): StallCheck {
  if (outputPaused) return { stalled: false, recheckInMs: stallMs };
  if (quietMs >= stallMs) return { stalled: true };
  return { stalled: false, recheckInMs: Math.max(1, Math.ceil(stallMs - quietMs)) };
}
