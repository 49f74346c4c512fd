// The status lists are the server's own (pure, no I/O): one list, one meaning.
export { GOAL_STATUSES, TASK_STATUSES, type GoalStatus, type TaskStatus } from '../server/domain/states.js';

/**
 * The API's shapes, from the types generated from Arbor's own OpenAPI document
 * (client/arbor-api.d.ts, `npm run generate:client`): a route that changes
 * shape fails the dashboard's typecheck instead of its users. Type-only: the
 * bundle carries none of it.
 */
import type { components } from '../client/arbor-api.js';

type Schemas = components['schemas'];

export type Progress = Schemas['GoalProgress'];
export type Goal = Schemas['GoalWithProgress'];
export type Task = Schemas['Task'];
export type GoalWithTasks = Schemas['GoalDetail'];
export type Run = Schemas['TaskRun'];
export type Session = Schemas['Session'];
export type LogLine = Schemas['SessionLogLine'];
export type TaskDiff = Schemas['TaskDiff'];
export type Signal = Schemas['Signal'];
export type AuthSession = Schemas['SignInState'];
export type ApiErrorBody = Schemas['Error'];
