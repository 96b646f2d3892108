/** Reader ids are KV keys and subject tokens: letters, digits, `_` and `-`. */
export const READER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** An Intella merchant id (MchId), as configured in INTELLA_MERCHANTS and named on the bus. */
export const MCH_ID = /^[A-Za-z0-9_-]{1,64}$/;
