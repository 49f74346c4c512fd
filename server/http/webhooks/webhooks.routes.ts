import { createRoute, z } from '@hono/zod-openapi';
import { MAX_SIGNALS_PER_DELIVERY } from '../../signals/github.js';
import { jsonContent } from '../common.schemas.js';
import { ErrorSchema } from '../errors.js';
import { WebhookIgnoredSchema, WebhookPingSchema, WebhookSignalsSchema, webhookHeaderParameters } from './webhooks.schemas.js';

const error = (description: string) => jsonContent(ErrorSchema, description);

export const githubWebhook = createRoute({
  operationId: 'receiveGithubWebhook',
  method: 'post',
  path: '/api/webhooks/github',
  tags: ['webhooks'],
  summary: 'GitHub webhook: CI results and reviews resolve gh_ci and gh_review gates',
  description: [
    'Authenticated by `X-Hub-Signature-256` over the raw body (the webhook secret, or during a rotation the',
    'old one), not by a bearer token. Configure the webhook with content type `application/json`.',
    '',
    '`check_suite` and `workflow_run` `completed` post a `gh_ci` signal for each pull request of this',
    'repository they list, with the head commit as `sha` (success passes; failure, timed_out, cancelled,',
    'action_required and startup_failure fail; other conclusions are ignored). `pull_request_review`',
    '`submitted` posts `gh_review`: approved passes, changes_requested fails with the review body;',
    'comments are ignored.',
    '',
    'Each result is applied once, whatever the delivery id: a redelivery, or the same body replayed under a new',
    '`X-GitHub-Delivery`, answers `duplicate: true` and changes nothing. What counts as the same result: the',
    'check suite id and the time it completed, the workflow run id and its attempt, the review id. One delivery',
    `posts at most ${MAX_SIGNALS_PER_DELIVERY} signals (pull requests past that are left out and logged).`,
    '',
    'With `ARBOR_GITHUB_TOKEN` configured a CI event is a nudge: Arbor asks the checks API for every check run and',
    'commit status of the pull request\'s current head and posts `gh_ci` for that head only once all have completed',
    '(pass when all succeeded, fail with the failing checks\' names and output titles as soon as one failed).',
  ].join('\n'),
  security: [],
  parameters: webhookHeaderParameters,
  request: {
    body: {
      required: true,
      description: 'the GitHub event payload, exactly as GitHub sent it',
      // A plain JSON schema, not zod: the route must read the raw bytes itself.
      content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
    },
  },
  responses: {
    200: jsonContent(z.union([WebhookSignalsSchema, WebhookPingSchema]), 'the signals the event posted, or the answer to a ping'),
    202: jsonContent(WebhookIgnoredSchema, 'a genuine delivery that Arbor does not act on, and why'),
    400: error('a GitHub header is missing or the body is not JSON'),
    401: error('the signature is missing or wrong'),
    413: error('the body is too large'),
    415: error('the body is not application/json'),
    422: error('the event names something Arbor cannot take as a signal'),
    502: error('GitHub\'s checks API did not answer (redeliver to try again)'),
    503: error('no webhook secret is configured'),
  },
});
