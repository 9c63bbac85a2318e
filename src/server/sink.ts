/**
 * Where an execution's notifications go. A Session is one (the connection that started the work);
 * an ExecutionChannel is another (it outlives a dropped connection and can replay what was missed).
 */
export interface NotificationSink {
  notify(method: string, params: unknown): void;
  /** True while the receiver cannot keep up: producers should stop reading their pipes. */
  readonly isCongested: boolean;
  readonly isClosed: boolean;
  on(event: "drain", listener: () => void): unknown;
  off(event: "drain", listener: () => void): unknown;
}

/** A sink that passes everything to `sink`, with `notify` replaced (to add fields, record, ...). */
export function interceptSink(sink: NotificationSink, notify: (method: string, params: unknown) => void): NotificationSink {
  return {
    notify,
    get isCongested() {
      return sink.isCongested;
    },
    get isClosed() {
      return sink.isClosed;
    },
    on: (event, listener) => sink.on(event, listener),
    off: (event, listener) => sink.off(event, listener),
  };
}
