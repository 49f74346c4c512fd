/**
 * `arbor start`: the server in this process, exactly as `npm start` runs it
 * (same settings from the environment, same graceful stop on Ctrl-C).
 */
export async function startServer(): Promise<'running'> {
  // The CLI's own setting; the server would warn about an ARBOR_* variable it does not know.
  delete process.env.ARBOR_URL;
  await import('../server/main.js');
  return 'running';
}
