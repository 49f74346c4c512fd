import { createHash, randomBytes } from 'node:crypto';

/**
 * A token that lets an agent report on its own task and nothing else. Only
 * its hash is stored, so reading the database does not hand out live tokens.
 */
export function newTaskToken(): { token: string; hash: string } {
  const token = `arbt_${randomBytes(24).toString('base64url')}`;
  return { token, hash: hashTaskToken(token) };
}

export function hashTaskToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function looksLikeTaskToken(token: string): boolean {
  return token.startsWith('arbt_');
}
