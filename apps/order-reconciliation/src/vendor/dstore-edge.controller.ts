import { All, Controller, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DStoreEdge, EDGE_APIS } from './dstore-edge.service';

/**
 * The HTTP routes: one per D-Store API, and one fallback for every other path and method, so that D-Store always
 * gets a signed answer with a result code (INVALID_API), never the framework's own 404.
 */
@Controller()
export class DStoreEdgeController {
  constructor(private readonly edge: DStoreEdge) {}

  @Post(EDGE_APIS.createOrder)
  createOrder(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.edge.handle('createOrder', req, reply);
  }

  @Post(EDGE_APIS.inquireOrderDetail)
  inquireOrderDetail(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.edge.handle('inquireOrderDetail', req, reply);
  }

  @Post(EDGE_APIS.pushOrderChange)
  pushOrderChange(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.edge.handle('pushOrderChange', req, reply);
  }

  @All('*')
  fallback(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.edge.handle(undefined, req, reply);
  }
}
