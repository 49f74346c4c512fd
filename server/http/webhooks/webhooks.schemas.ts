import { z } from '@hono/zod-openapi';

export const WebhookSignalsSchema = z
  .object({
    signals: z.array(
      z.object({
        signal_id: z.string(),
        matched: z.array(z.string()).openapi({ description: 'ids of the gate tasks this signal resolved' }),
        duplicate: z.boolean().openapi({ description: 'true when this delivery was already applied; nothing changed' }),
      }),
    ),
    pending: z.array(z.string()).optional().openapi({
      description: 'with ARBOR_GITHUB_TOKEN: pull requests whose checks are not all done yet (no signal posted), with what is still running',
    }),
  })
  .openapi('WebhookSignals');

export const WebhookPingSchema = z.object({ ok: z.literal(true) }).openapi('WebhookPing');

export const WebhookIgnoredSchema = z
  .object({ ignored: z.string().openapi({ example: 'event "push" is not one Arbor acts on' }) })
  .openapi('WebhookIgnored');

/**
 * The headers GitHub sends. Documented, not validated by zod: the handler
 * checks them itself so that a bad signature is 401 before anything else.
 */
export const webhookHeaderParameters = [
  {
    name: 'X-Hub-Signature-256',
    in: 'header' as const,
    required: true,
    description: '`sha256=` and the hex HMAC-SHA256 of the raw body under the webhook secret',
    schema: { type: 'string' as const, example: 'sha256=3f1c…' },
  },
  {
    name: 'X-GitHub-Event',
    in: 'header' as const,
    required: true,
    description: 'the event name: ping, check_suite, workflow_run, pull_request_review, …',
    schema: { type: 'string' as const },
  },
  {
    name: 'X-GitHub-Delivery',
    in: 'header' as const,
    required: true,
    description: 'the delivery id; a redelivery with the same id is applied once',
    schema: { type: 'string' as const },
  },
];
