/**
 * The stop signals port: carries a person's Stop to the replica running the answer. See
 * ../ports.ts for the map of the ports.
 */

/** Carries "stop the answer in this thread" to whichever replica runs it (a click reaches any one). */
export interface StopRequest {
  /** The thread whose running answer should stop (`threadId` of conversation/question.ts). */
  threadId: string;
  /** Who asked to stop: the replica running the answer decides whether they may. */
  userId: string;
}

export interface StopSignals {
  /** Tells every replica, this one included, that `request.userId` asked to stop `request.threadId`. */
  publish(request: StopRequest): Promise<void>;
  /** Calls `handler` for every stop published from now on; returns a function that unsubscribes. */
  subscribe(handler: (request: StopRequest) => void): () => void;
  /** Stops listening; publishing afterwards fails. */
  close(): Promise<void>;
}
