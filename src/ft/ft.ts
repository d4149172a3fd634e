import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from '../log.js';
import { CtrlMsgType, spb } from '../proto/codec.js';
import type { Store } from '../stores/store.js';
import { decodeGoTime, encodeGoTime } from './go-time.js';

export interface FtTimings {
  /** How often the active server announces itself. */
  hbInterval: number;
  /** How long a standby waits without a heartbeat before it tries the store lock. */
  missedInterval: number;
}

/**
 * The Go server beats every 1 s and its standbys wait 1.25 s. The store lock, not the heartbeat, is what guarantees a
 * single owner, so shorter timings only make failover faster; a mixed group with Go servers stays safe.
 */
export const DEFAULT_FT_TIMINGS: FtTimings = { hbInterval: 200, missedInterval: 250 };

/** Spreads timers by up to 10% either way, so that standbys do not all try the lock at the same instant. */
function jitter(ms: number): number {
  return ms + (Math.random() * 2 - 1) * ms * 0.1;
}

export class FtSteppedDown extends Error {}

/** How recently the store must have confirmed our lock for this server to trust that it still holds it. */
const LOCK_FRESH_MS = 3000;

/**
 * A fault-tolerance group member: waits in standby until the active server's heartbeats stop and it gets the store's
 * exclusive lock, then heartbeats as the active server. An active that sees an earlier-activated active steps down.
 */
export class FtMember {
  private sub: Subscription | undefined;
  private lastHeartbeat = 0;
  private hbTimer: NodeJS.Timeout | undefined;
  private activationNs = 0n;
  private stopped = false;
  lockAttempts = 0;
  lockFailures = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly serverId: string,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly onStepDown: (reason: Error) => void,
    private readonly timings: FtTimings = DEFAULT_FT_TIMINGS,
  ) {}

  /** Listens for heartbeats; resolves once this server holds the store lock and may become active. */
  async waitUntilActive(): Promise<void> {
    this.log.info({ subject: this.subject }, 'starting in standby mode');
    this.lastHeartbeat = Date.now();
    this.sub = this.nc.subscribe(this.subject, { callback: (_err, msg) => this.onHeartbeat(msg.data) });
    for (;;) {
      if (this.stopped) throw new FtSteppedDown('stopped while in standby');
      const wait = jitter(this.timings.missedInterval) - (Date.now() - this.lastHeartbeat);
      if (wait > 0) {
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      this.lockAttempts++;
      let locked = false;
      try {
        locked = await this.store.getExclusiveLock();
      } catch (err) {
        this.lockFailures++;
        this.log.error({ err }, 'ft: error attempting to get the store lock');
      }
      if (locked) break;
      this.lastHeartbeat = Date.now();
    }
    this.log.info('ft: got the store lock, becoming active');
  }

  /** Starts heartbeating as the active server. */
  activate(activationNs: bigint): void {
    this.activationNs = activationNs;
    const hb = spb.CtrlMsg.encode({ MsgType: CtrlMsgType.FTHeartbeat, ServerID: this.serverId, Data: encodeGoTime(activationNs), RefID: '' });
    const beat = () => {
      if (this.stopped) return;
      this.nc.publish(this.subject, hb);
      this.hbTimer = setTimeout(beat, jitter(this.timings.hbInterval));
    };
    beat();
  }

  private onHeartbeat(data: Uint8Array): void {
    let hb;
    try {
      hb = spb.CtrlMsg.decode(data);
    } catch {
      return;
    }
    if (hb.MsgType !== CtrlMsgType.FTHeartbeat || hb.ServerID === this.serverId) return;
    this.lastHeartbeat = Date.now();
    if (this.activationNs === 0n) return;
    const peer = decodeGoTime(hb.Data);
    if (peer === undefined) {
      this.log.error({ peer: hb.ServerID }, 'ft: cannot decode the activation time of another active server');
      return;
    }
    if (peer < this.activationNs) {
      // An earlier active that was frozen and resumed still beats until it notices it lost the store lock; while this
      // server holds the lock, that one is the impostor and will stop by itself.
      const lock = this.store.lockState?.();
      if (lock?.held && Date.now() - lock.refreshedAt < LOCK_FRESH_MS) {
        this.log.error({ peer: hb.ServerID }, 'ft: an earlier active server is beating again; this server holds the store lock and stays active');
        return;
      }
      this.onStepDown(new FtSteppedDown(`ft: serverID "${hb.ServerID}" claims to be active, aborting`));
    } else {
      this.log.error({ peer: hb.ServerID }, 'ft: another server claims to be active; it became active after this one');
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.hbTimer);
    this.sub?.unsubscribe();
  }
}
