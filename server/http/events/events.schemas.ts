import { z } from '@hono/zod-openapi';
import { EVENT_TYPES, type EventType } from '../../domain/event-types.js';
import type { EventRow } from '../../store/event-log.js';
import { bigintString, isUuid } from '../common.schemas.js';

/** An event id as clients pass it back: a non-negative bigint, as a string. */
export const EventIdSchema = bigintString('must be an event id');

export const EventsQuerySchema = z.object({
  goal_id: z
    .string()
    .refine(isUuid, 'must be a uuid')
    .optional()
    .openapi({ format: 'uuid', description: 'only the events of this goal' }),
  after: EventIdSchema.optional().openapi({
    description: 'start after this event id; `Last-Event-ID` wins when both are given (an EventSource reconnecting sends it)',
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ description: 'page size of the JSON form' }),
});

export const EventsHeadersSchema = z.object({
  'last-event-id': EventIdSchema.optional().openapi({ description: 'resume after this event id' }),
});

/** The `type` of an event, and the `event:` name of its SSE message. */
export const EventTypeSchema = z.enum(EVENT_TYPES).openapi('EventType');

export const EventSchema = z
  .object({
    id: z.string().openapi({ description: 'increases with every event; pass back as `after` or `Last-Event-ID`', example: '42' }),
    type: EventTypeSchema,
    goal_id: z.uuid().nullable(),
    task_id: z.uuid().nullable(),
    session_id: z.uuid().nullable(),
    signal_id: z.uuid().nullable(),
    data: z.record(z.string(), z.unknown()).openapi({ description: 'for status changes: from, to and, where useful, reason and attempt' }),
    at: z.string(),
  })
  .openapi('Event');

export const EventPageSchema = z
  .object({
    events: z.array(EventSchema),
    next_after: z.string().openapi({
      description: 'pass as `after` for the next page (or to follow live over SSE); may lie past the last event shown',
    }),
  })
  .openapi('EventPage');

export type EventJson = z.infer<typeof EventSchema>;

export function toEventJson(event: EventRow): EventJson {
  return {
    id: event.id,
    // Written only through appendEvents, whose type is an EventType.
    type: event.type as EventType,
    goal_id: event.goalId,
    task_id: event.taskId,
    session_id: event.sessionId,
    signal_id: event.signalId,
    data: event.data,
    at: event.at.toISOString(),
  };
}
