import { z } from '@hono/zod-openapi';

export const SignInSchema = z
  .strictObject({ token: z.string().min(1).max(4096).openapi({ description: 'the value of ARBOR_API_TOKEN' }) })
  .openapi('SignIn');

export const SignedInSchema = z
  .object({
    csrf_token: z.string().openapi({ description: 'send as the X-Arbor-CSRF header on every write made with the cookie' }),
    expires_at: z.string().openapi({ description: 'when the sign-in ends' }),
  })
  .openapi('SignedIn');

export const SignInStateSchema = z
  .object({
    auth_required: z.boolean().openapi({ description: 'ARBOR_API_TOKEN is set: the API needs a token or a sign-in' }),
    signed_in: z.boolean().openapi({ description: 'the request carries a valid sign-in cookie (always false when no sign-in is required)' }),
    csrf_token: z.string().nullable().openapi({ description: "the sign-in's CSRF token, or null when not signed in" }),
  })
  .openapi('SignInState');
