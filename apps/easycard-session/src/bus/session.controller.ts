import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext, Payload } from '@nestjs/microservices';
import {
  easycardKeySubject,
  EasyCardSessionError,
  PayloadInvalidError,
  type SessionListReply,
  type SessionView,
  type SignOnReply,
  SUBJECTS,
} from '@tillbus/contracts';
import {
  DeviceRequest,
  RegisterReaderRequest,
  SessionListRequest,
  SignOnRequest,
} from '@tillbus/contracts/dto';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { easyCardSessionReportedKind } from '@tillbus/result-codes';
import { sessionView } from '../sessions/session-view';
import { KeyReleaseService, type KeyRelease } from '../sessions/key-release.service';
import { ReaderRegistrationService } from '../sessions/reader-registration.service';
import { SessionKeyMaterial } from '../sessions/session-key-material';
import { SessionStore } from '../sessions/session-store';
import { SignOnService } from '../sessions/sign-on.service';

/** The bus API. The key leaves only through sessionKey, whose subject deployments restrict. */
@Controller()
export class SessionController {
  constructor(
    private readonly signOns: SignOnService,
    private readonly keyRelease: KeyReleaseService,
    private readonly registration: ReaderRegistrationService,
    private readonly keys: SessionKeyMaterial,
    private readonly store: SessionStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  private view(record: Parameters<typeof sessionView>[0]): SessionView {
    return sessionView(record, this.clock.now(), Date.now(), this.keys.keyOpens);
  }

  @MessagePattern(SUBJECTS.easycard.sessionGet)
  async get(@Payload() request: DeviceRequest): Promise<SessionView> {
    const record = await this.store.get(request.deviceId);
    if (!record) throw new EasyCardSessionError('NOT_FOUND', request.deviceId);
    return this.view(record);
  }

  @MessagePattern(SUBJECTS.easycard.sessionList)
  list(@Payload() request: SessionListRequest): SessionListReply {
    const matching = this.store
      .cached()
      .filter((record) => request.mchId === undefined || record.mchId === request.mchId)
      .filter(
        (record) =>
          request.state === undefined ||
          easyCardSessionReportedKind(record.state, this.clock.now()) === request.state,
      )
      .sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    return {
      sessions: matching.slice(0, request.limit ?? 1000).map((record) => this.view(record)),
      total: matching.length,
    };
  }

  @MessagePattern(SUBJECTS.easycard.signon)
  async signOn(@Payload() request: SignOnRequest): Promise<SignOnReply> {
    const result = await this.signOns.signOn(
      request.deviceId,
      request.force === true ? 'operator-force' : 'operator',
    );
    if (result.refusal === 'NOT_FOUND')
      throw new EasyCardSessionError('NOT_FOUND', request.deviceId);
    if (result.refusal === 'IN_PROGRESS')
      throw new EasyCardSessionError('SIGNON_IN_PROGRESS', request.deviceId);
    const record = result.record ?? (await this.store.get(request.deviceId));
    if (!record) throw new EasyCardSessionError('NOT_FOUND', request.deviceId);
    if (!result.attempted && result.refusal !== 'ALREADY_SIGNED_ON') {
      throw new EasyCardSessionError('SIGNON_REFUSED', result.refusal, { refusal: result.refusal });
    }
    return {
      deviceId: request.deviceId,
      attempted: result.attempted,
      outcome: result.outcome ?? null,
      reason: result.reason ?? result.refusal ?? null,
      session: this.view(record),
    };
  }

  /**
   * The reader is the subject's last token (the one NATS permissions grant per store); a payload naming another
   * reader is refused, so no identity gets a key its subject permission does not name.
   */
  @MessagePattern(SUBJECTS.easycard.sessionKey)
  sessionKey(@Payload() request: DeviceRequest, @Ctx() context: NatsContext): Promise<KeyRelease> {
    const reader = context.getSubject().split('.').pop();
    if (reader !== request.deviceId) {
      throw new PayloadInvalidError(
        `deviceId ${request.deviceId} is not the reader this subject names (${reader}): ask on ${easycardKeySubject(request.deviceId)}`,
      );
    }
    return this.keyRelease.releaseKey(request.deviceId);
  }

  @MessagePattern(SUBJECTS.easycard.readersRegister)
  async register(@Payload() request: RegisterReaderRequest): Promise<SessionView> {
    return this.view(await this.registration.register(request.deviceId, request.mchId));
  }
}
