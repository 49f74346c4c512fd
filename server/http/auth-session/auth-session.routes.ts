import { createRoute } from '@hono/zod-openapi';
import { bodyErrors, commonErrors, conflictError, jsonContent } from '../common.schemas.js';
import { SignInSchema, SignInStateSchema, SignedInSchema } from './auth-session.schemas.js';

const tags = ['auth'];
/** These routes are how a token is presented, so they take none. */
const security: [] = [];

export const getSignIn = createRoute({
  method: 'get',
  path: '/api/auth/session',
  operationId: 'getAuthSession',
  tags,
  security,
  summary: 'Whether the API needs a sign-in, and whether this browser has one',
  responses: { 200: jsonContent(SignInStateSchema, 'the sign-in state'), ...commonErrors },
});

export const signIn = createRoute({
  method: 'post',
  path: '/api/auth/session',
  operationId: 'createAuthSession',
  tags,
  security,
  summary: 'Sign in with the API token: sets the HttpOnly `arbor_session` cookie, which the API and its event streams accept',
  description:
    'Writes made with the cookie (POST, PUT, PATCH, DELETE) must carry `X-Arbor-CSRF: <csrf_token>`. ' +
    'A wrong token is 401; with no ARBOR_API_TOKEN configured there is nothing to sign in to: 409.',
  request: { body: { required: true, content: { 'application/json': { schema: SignInSchema } } } },
  responses: {
    200: jsonContent(SignedInSchema, 'signed in; the cookie is set'),
    ...bodyErrors,
    ...conflictError,
  },
});

export const signOut = createRoute({
  method: 'delete',
  path: '/api/auth/session',
  operationId: 'deleteAuthSession',
  tags,
  security,
  summary: 'Sign out: clears the cookie',
  responses: { 204: { description: 'signed out' }, ...commonErrors },
});
