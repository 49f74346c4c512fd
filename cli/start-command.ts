/**
 * `arbor start`: the server in this process, exactly as `npm start` runs it
 * (same settings from the environment, same graceful stop on Ctrl-C).
 */
export async function startServer(): Promise<'running'> {
  await import('../server/main.js');
  return 'running';
}
