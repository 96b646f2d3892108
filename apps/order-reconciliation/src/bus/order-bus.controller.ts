import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type OrderView,
  type RedeliverResult,
  type StuckReport,
  SUBJECTS,
} from '@tillbus/contracts';
import { GetOrderRequest, RedeliverRequest, StuckOrdersRequest } from '@tillbus/contracts/dto';
import { OrdersService } from '../orders/orders.service';

/** The operator and POS API on the bus; errors leave as `{code, message, details}` envelopes. */
@Controller()
export class OrderBusController {
  constructor(private readonly orders: OrdersService) {}

  /** One order: status, history, refused changes, D-Store's pushes and every notification's delivery. */
  @MessagePattern(SUBJECTS.orderReconciliation.get)
  get(@Payload() request: GetOrderRequest): Promise<OrderView> {
    return this.orders.get(request.requestOrderId);
  }

  /** Orders not final and older than `olderThanMs`, or with notifications D-Store has not got. */
  @MessagePattern(SUBJECTS.orderReconciliation.stuck)
  stuck(@Payload() request: StuckOrdersRequest): Promise<StuckReport> {
    return this.orders.stuck(request.olderThanMs, request.limit);
  }

  /** Sends a dead-lettered (or finally failed) notification again, as a new round of attempts. */
  @MessagePattern(SUBJECTS.orderReconciliation.redeliver)
  redeliver(@Payload() request: RedeliverRequest): Promise<RedeliverResult> {
    return this.orders.redeliver(request.requestOrderId, request.requestId);
  }
}
