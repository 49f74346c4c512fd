import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/**
 * Loads something from the API and keeps it: `reload()` fetches again without
 * blanking what is shown (live updates redraw in place), and an answer that
 * arrives after a newer request started is dropped. A change of `deps` blanks
 * it first (another thing is shown now) unless `keepWhileReloading`.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], options: { keepWhileReloading?: boolean } = {}) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(() => {
    const mine = ++generation.current;
    const controller = new AbortController();
    loadRef
      .current(controller.signal)
      .then((value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(null);
      })
      .catch((err: unknown) => {
        if (mine !== generation.current || (err as Error).name === 'AbortError') return;
        setError(err);
      });
    return controller;
  }, []);

  useEffect(() => {
    if (!options.keepWhileReloading) {
      setData(null);
      setError(null);
    }
    const controller = reload();
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  return { data, error, reload };
}
