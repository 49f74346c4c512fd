import type { Migration } from 'kysely';
import * as initialSchema from './0001_initial_schema.js';
import * as instances from './0002_instances.js';
import * as webhookPayloadIdentity from './0003_webhook_payload_identity.js';
import * as sessionPullRequest from './0004_session_pull_request.js';
import * as sessionUsageTotals from './0005_session_usage_totals.js';
import * as goalLanes from './0006_goal_lanes.js';
import * as gateBinding from './0008_gate_binding.js';
import * as templatesAndTriggers from './0009_templates_and_triggers.js';
import * as taskRuns from './0010_task_runs.js';
import * as notifications from './0011_notifications.js';
import * as dispatchFunctions from './0012_dispatch_functions.js';
import * as signalResolution from './0013_signal_resolution.js';
import * as customPlansInDispatch from './0014_custom_plans_in_dispatch.js';
import * as sessionLogUnwritten from './0015_session_log_unwritten.js';
import * as singleSuccessPlan from './0016_single_success_plan.js';

/**
 * The migrations in order. A static list rather than a directory scan: it works
 * the same under tsx, vitest and compiled output, and a missing file is a
 * compile error instead of a silently skipped migration.
 */
export const migrations: Record<string, Migration> = {
  '0001_initial_schema': initialSchema,
  '0002_instances': instances,
  '0003_webhook_payload_identity': webhookPayloadIdentity,
  '0004_session_pull_request': sessionPullRequest,
  '0005_session_usage_totals': sessionUsageTotals,
  '0006_goal_lanes': goalLanes,
  '0008_gate_binding': gateBinding,
  '0009_templates_and_triggers': templatesAndTriggers,
  '0010_task_runs': taskRuns,
  '0011_notifications': notifications,
  '0012_dispatch_functions': dispatchFunctions,
  '0013_signal_resolution': signalResolution,
  '0014_custom_plans_in_dispatch': customPlansInDispatch,
  '0015_session_log_unwritten': sessionLogUnwritten,
  '0016_single_success_plan': singleSuccessPlan,
};
