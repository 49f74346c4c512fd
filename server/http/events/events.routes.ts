import { createRoute, z } from '@hono/zod-openapi';
import { ErrorSchema } from '../errors.js';
import { commonErrors, jsonContent, notFoundError } from '../common.schemas.js';
import { EventPageSchema, EventsHeadersSchema, EventsQuerySchema } from './events.schemas.js';

export const listEvents = createRoute({
  operationId: 'listEvents',
  method: 'get',
  path: '/api/events',
  tags: ['events'],
  summary: 'The event log: a JSON page, or with Accept: text/event-stream a live stream',
  description: [
    'Every state change of goals and tasks, oldest first.',
    '',
    'Without `text/event-stream` in `Accept` the answer is a JSON page of events after `after` (default: the',
    'start of the log). With it the answer is Server-Sent Events: each message has `id:` the event id,',
    '`event:` its type and `data:` the event as JSON. A stream first sends every event after',
    '`Last-Event-ID` (or `after`), then follows live; with neither it starts at the current end. A',
    '`: ping` comment keeps idle streams open.',
  ].join('\n'),
  request: { query: EventsQuerySchema, headers: EventsHeadersSchema },
  responses: {
    200: {
      description: 'a page of events, or the event stream',
      content: {
        'application/json': { schema: EventPageSchema },
        'text/event-stream': { schema: z.string().openapi({ description: 'messages of `id: <event id>`, `event: <type>`, `data: <Event as JSON>`' }) },
      },
    },
    ...commonErrors,
    ...notFoundError,
    503: jsonContent(ErrorSchema, 'events are being written right now and the page could not settle; retry shortly'),
  },
});
