/**
 * Every type of event the log holds: also the SSE `event:` name, enumerated in
 * the OpenAPI document, and what the dashboard listens for. `data` of a status
 * change carries `from`, `to` and, where useful, `reason` and `attempt`.
 */
export const EVENT_TYPES = [
  'goal.created',
  'goal.status_changed',
  'task.status_changed',
  'task.subtasks_added',
  'task.pull_request_reported',
  'session.started',
  'session.idle',
  'session.ended',
  'session.stop_requested',
  'signal.received',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
