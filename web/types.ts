// The status lists are the server's own (pure, no I/O): one list, one meaning.
export { GOAL_STATUSES, TASK_STATUSES, type GoalStatus, type TaskStatus } from '../server/domain/states.js';

/**
 * The API's shapes, from the types generated from Arbor's own OpenAPI document
 * (client/arbor-api.d.ts, `npm run generate:client`): a route that changes
 * shape fails the dashboard's typecheck instead of its users. Type-only: the
 * bundle carries none of it.
 */
import type { Schemas } from '../client/arbor-client.js';

// The client's own names where the client has one.
export type { LogLine, Session, Task } from '../client/arbor-client.js';
export type Progress = Schemas['GoalProgress'];
export type Goal = Schemas['GoalWithProgress'];
export type GoalWithTasks = Schemas['GoalDetail'];
export type Run = Schemas['TaskRun'];
export type TaskDiff = Schemas['TaskDiff'];
export type Signal = Schemas['Signal'];
export type AuthSession = Schemas['SignInState'];
export type ApiErrorBody = Schemas['Error'];
