// Request IDs as etcd's idutil.Generator makes them: the member's low 16 bits as a prefix above a
// 48-bit suffix that starts at (unix ms << 8) and counts up, so IDs are unique per member across
// restarts. The suffix is a number (< 2^48); full() gives the 64-bit ID for lease IDs.

const TWO_48 = 2 ** 48;
const TWO_40 = 2 ** 40;

export class IdGenerator {
  readonly prefix: number;
  private suffix: number;

  constructor(memberId: bigint, nowMs: number = Date.now()) {
    this.prefix = Number(memberId & 0xffffn);
    this.suffix = (nowMs % TWO_40) * 256;
  }

  /** The next 48-bit suffix. */
  next(): number {
    this.suffix = (this.suffix + 1) % TWO_48;
    return this.suffix;
  }

  /** The next full 64-bit ID (prefix << 48 | suffix). */
  nextFull(): bigint {
    return (BigInt(this.prefix) << 48n) | BigInt(this.next());
  }
}
