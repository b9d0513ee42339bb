import { EVENT_FLAGS } from './change-event';

/**
 * The flags of a RESTORE payload split across events, under the names the
 * sink's batch processor imports. EVENT_FLAGS.payloadChunk / payloadLast are
 * the definitions; prefer them, and delete this file once nothing imports it.
 */
export const FLAG_PAYLOAD_CHUNK = EVENT_FLAGS.payloadChunk;
export const FLAG_PAYLOAD_LAST = EVENT_FLAGS.payloadLast;
