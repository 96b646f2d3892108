import { Injectable } from '@nestjs/common';

/** Whether the service is ready, and whether shutdown has begun: background work starts no new round then. */
@Injectable()
export class RunState {
  ready = false;
  stopping = false;
}
