import { useEffect } from 'preact/hooks';

export function useTitle(title: string | null | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · Arbor` : 'Arbor';
  }, [title]);
}
