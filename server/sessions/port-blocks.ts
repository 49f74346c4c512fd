/**
 * Hands each live session its own block of ports (ARBOR_PORT_BASE ..), so
 * agents running dev servers in parallel do not collide. Blocks are per
 * process: instances sharing a host need distinct bases.
 */
export class PortBlocks {
  private readonly used = new Set<number>();

  constructor(private readonly settings: { base: number; perSession: number } | null) {}

  take(): { base: number; count: number; release(): void } | null {
    if (!this.settings) return null;
    const { base, perSession } = this.settings;
    let slot = 0;
    while (this.used.has(slot)) slot++;
    if (base + (slot + 1) * perSession - 1 > 65535) return null;
    this.used.add(slot);
    return { base: base + slot * perSession, count: perSession, release: () => this.used.delete(slot) };
  }
}
