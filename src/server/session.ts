import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { WebSocket } from "ws";
import type { Logger } from "../logger.js";
import { failure, notification, success, RpcError, ErrorCodes, parseIncoming, Notifications } from "../protocol/index.js";
import type { ConnectedParams } from "../protocol/index.js";
import type { ExecutionChannel } from "./execution-channel.js";
import type { ExecutionKind } from "./monitor-types.js";
import { framePool } from "./frame-pool.js";
import { notificationFrame } from "./output-frame.js";

/** Something a session is running that `control` can act on (a command, a claude task, a task list). */
export interface ActiveWork {
  readonly executionId: string;
  readonly kind: ExecutionKind;
  pause(): boolean;
  resume(): boolean;
  cancel(): Promise<unknown>;
  /** Settles when the work is over and its terminal notification has been sent. */
  readonly finished: Promise<unknown>;
  /** Set for resumable work: a dropped connection detaches it instead of canceling it. */
  readonly channel?: ExecutionChannel;
}

/**
 * A handler result whose follow-up must be sent after the response, e.g. `execute` answers
 * {status:"started"} first and only then announces process.started, as clients of the original expect.
 */
export class Reply {
  constructor(
    readonly result: unknown,
    readonly afterSend: () => void,
  ) {}
}

/** A handler result meaning "send no response", even to a request with an id (the original's `pong`). */
export const NO_ANSWER = Symbol("no answer");

export type MethodHandler = (params: Record<string, unknown>, session: Session) => Promise<unknown> | unknown;

/** Above this many bytes queued for the socket, producers are asked to pause (backpressure). */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/** WebSocket close code for a client that did not read: more than CC_EXECUTOR_MAX_CLIENT_QUEUE bytes waited for it. */
export const CLOSE_CLIENT_TOO_SLOW = 4008;

interface SessionEvents {
  drain: [];
  closed: [];
}

/**
 * One WebSocket connection: JSON-RPC dispatch, the work it runs (one at a time), and flow control
 * towards the socket. Closing the connection cancels its work, so nothing outlives its client.
 */
export class Session extends EventEmitter<SessionEvents> {
  readonly id = randomUUID();
  readonly connectedAt = Date.now();
  active: ActiveWork | undefined;
  private pendingBytes = 0;
  private congested = false;
  private closed = false;
  private lastActivity = Date.now();

  constructor(
    private readonly ws: WebSocket,
    private readonly methods: ReadonlyMap<string, MethodHandler>,
    readonly logger: Logger,
    /** More than this many bytes waiting for the client (in the socket, or owed to it by a producer that waits) closes the connection. */
    private readonly maxQueueBytes = Infinity,
  ) {
    super();
    this.setMaxListeners(0);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True while the socket has more queued than the high-water mark. */
  get isCongested(): boolean {
    return this.congested;
  }

  /** Bytes handed to the socket and not yet written to the network. */
  get queuedBytes(): number {
    return this.pendingBytes;
  }

  get idleSince(): number {
    return this.active ? Date.now() : this.lastActivity;
  }

  sendConnected(params: ConnectedParams): void {
    this.notify(Notifications.connected, params);
  }

  notify(method: string, params: unknown): void {
    if (this.closed) return;
    const frame = notificationFrame(method, params);
    if (frame) this.write(frame, frame.length);
    else this.send(notification(method, params));
  }

  send(message: unknown): void {
    if (this.closed) return;
    const text = JSON.stringify(message);
    this.write(text, Buffer.byteLength(text));
  }

  /** Sends one text frame (a Buffer holds UTF-8 JSON text), counting it against the high-water mark until written. */
  private write(data: string | Buffer, size: number): void {
    this.pendingBytes += size;
    if (!this.congested && this.pendingBytes > HIGH_WATER) this.congested = true;
    this.ws.send(data, { binary: false }, () => {
      if (typeof data !== "string") framePool.give(data);
      this.pendingBytes -= size;
      if (this.congested && this.pendingBytes < LOW_WATER) {
        this.congested = false;
        this.emit("drain");
      }
    });
    if (this.pendingBytes > this.maxQueueBytes) this.disconnectSlowClient(this.pendingBytes);
  }

  /**
   * True (and the client is disconnected) when `owedBytes` that a producer holds back for this
   * client, plus what its socket holds, exceed the limit: a client that stopped reading.
   */
  disconnectIfTooSlow(owedBytes: number): boolean {
    if (this.closed) return true;
    if (this.pendingBytes + owedBytes <= this.maxQueueBytes) return false;
    this.disconnectSlowClient(this.pendingBytes + owedBytes);
    return true;
  }

  /**
   * Stops sending at once (the session closes: its work is canceled, or detached when resumable)
   * and closes the socket with 4008. The close frame waits behind what is queued; the socket is
   * destroyed if the client does not read it within the WebSocket close timeout.
   */
  private disconnectSlowClient(queued: number): void {
    if (this.closed) return;
    this.logger.warn({ queued, max: this.maxQueueBytes }, "client too slow: its send queue exceeded CC_EXECUTOR_MAX_CLIENT_QUEUE; disconnecting (close 4008)");
    void this.close();
    this.ws.close(CLOSE_CLIENT_TOO_SLOW, "client too slow: send queue over CC_EXECUTOR_MAX_CLIENT_QUEUE");
  }

  /** Messages are handled one after another, in the order they arrived. */
  handleText(text: string): Promise<void> {
    this.inbox = this.inbox.then(() => this.dispatch(text));
    return this.inbox;
  }

  private inbox: Promise<void> = Promise.resolve();

  private async dispatch(text: string): Promise<void> {
    this.lastActivity = Date.now();
    const incoming = parseIncoming(text);
    if (incoming.kind === "error") {
      this.send(incoming.response);
      return;
    }
    const { id, method, params } = incoming;
    const handler = this.methods.get(method);
    try {
      if (!handler) throw new RpcError(ErrorCodes.methodNotFound, `Method not found: ${method}`);
      const result = await handler(params, this);
      if (result === NO_ANSWER) return;
      if (result instanceof Reply) {
        if (id !== undefined) this.send(success(id, result.result));
        result.afterSend();
      } else if (id !== undefined) this.send(success(id, result));
    } catch (err) {
      if (id === undefined) return;
      if (err instanceof RpcError) this.send(failure(id, err.code, err.message, err.data));
      else {
        this.logger.error({ err, method }, "method failed");
        this.send(failure(id, ErrorCodes.internalError, `Internal error: ${(err as Error).message}`));
      }
    }
  }

  /** Throws the -32602 "already running" error (as the original did) when work is running. */
  assertIdle(): void {
    if (this.active) {
      throw new RpcError(ErrorCodes.invalidParams, `A process is already running in this session (execution ${this.active.executionId}); wait for it to complete or cancel it`);
    }
  }

  /** Registers work as this session's running work; refuses a second one (-32602, as the original). */
  claim(work: ActiveWork): void {
    this.assertIdle();
    this.active = work;
    void work.finished.finally(() => {
      if (this.active === work) this.active = undefined;
      this.lastActivity = Date.now();
    });
  }

  /**
   * Stops sending. Running work is canceled (resolves when it is over), except resumable work,
   * which is detached and keeps running for the grace period, waiting for a client to attach.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const work = this.active;
    if (work?.channel) {
      this.active = undefined;
      work.channel.detach();
    } else if (work) {
      await work.cancel().catch(() => undefined);
      await work.finished.catch(() => undefined);
    }
    this.emit("drain"); // release producers waiting for a socket that is gone
    this.emit("closed");
  }
}
