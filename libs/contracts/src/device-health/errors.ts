/**
 * The error codes of the device-health bus API, besides the bus-wide NOT_FOUND, TIMEOUT and UNAVAILABLE. One
 * meaning per code.
 */
export const DEVICE_HEALTH_ERRORS = {
  VENDOR_NOT_SERVED:
    "no device-health replica serves the terminal's vendor: the message names the deployment to run",
} as const;

export type DeviceHealthErrorCode = keyof typeof DEVICE_HEALTH_ERRORS;
