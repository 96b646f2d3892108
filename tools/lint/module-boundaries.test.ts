import { createProjectGraphAsync } from '@nx/devkit';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

// Lints code as if it were a file in a given project, so each boundary is shown to fail lint, not just declared.
const eslint = new ESLint({ cwd: `${__dirname}/../..` });

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages
    .filter((m) => m.ruleId === '@nx/enforce-module-boundaries')
    .map((m) => m.message);
}

describe('module boundaries (lint)', () => {
  // The rule reads Nx's cached graph and skips silently without one (see tools/lint/lint.mjs).
  beforeAll(async () => {
    process.env.NX_DAEMON = 'false';
    await createProjectGraphAsync({ exitOnError: false });
  }, 120_000);

  it.each([
    [
      'result-codes is pure: no Nest',
      'libs/result-codes/src/probe.ts',
      "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n",
      /is not allowed to import "@nestjs\/common"/,
    ],
    [
      'result-codes is pure: no class-validator either',
      'libs/result-codes/src/probe.ts',
      "import { IsString } from 'class-validator';\nexport const x = IsString;\n",
      /is not allowed to import "class-validator"/,
    ],
    [
      'a protocol lib may not import NATS',
      'libs/protocols/antom/src/probe.ts',
      "import { connect } from '@nats-io/transport-node';\nexport const x = connect;\n",
      /is not allowed to import "@nats-io\/transport-node"/,
    ],
    [
      'a protocol lib may not import prom-client',
      'libs/protocols/kicc/src/probe.ts',
      "import { Counter } from 'prom-client';\nexport const x = Counter;\n",
      /is not allowed to import "prom-client"/,
    ],
    [
      'a protocol lib may not import Nest',
      'libs/protocols/intella/src/probe.ts',
      "import { Module } from '@nestjs/common';\nexport const x = Module;\n",
      /is not allowed to import "@nestjs\/common"/,
    ],
    [
      'a protocol lib may not import the messaging lib',
      'libs/protocols/adyen/src/probe.ts',
      "import { SUBJECTS } from '@tillbus/messaging';\nexport const x = SUBJECTS;\n",
      /can only depend on libs tagged with "type:codes", "type:validation"/,
    ],
    [
      'one vendor protocol may not import another',
      'libs/protocols/antom/src/probe.ts',
      "import * as adyen from '@tillbus/protocols-adyen';\nexport const x = adyen;\n",
      /can only depend on libs tagged with/,
    ],
    [
      'a platform lib may not import the test harness',
      'libs/messaging/src/probe.ts',
      "import { startTestNatsServer } from '@tillbus/testing';\nexport const x = startTestNatsServer;\n",
      /can only depend on libs tagged with "type:platform", "type:codes", "type:validation"/,
    ],
    [
      'result-codes may not import any workspace lib',
      'libs/result-codes/src/probe.ts',
      "import { validatePlain } from '@tillbus/validation';\nexport const x = validatePlain;\n",
      /can only depend on libs tagged with/,
    ],
    [
      'the contracts may not import Nest',
      'libs/contracts/src/probe.ts',
      "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n",
      /is not allowed to import "@nestjs\/common"/,
    ],
    [
      'the contracts may not import NATS',
      'libs/contracts/src/probe.ts',
      "import { connect } from '@nats-io/transport-node';\nexport const x = connect;\n",
      /is not allowed to import "@nats-io\/transport-node"/,
    ],
    [
      'the contracts may not import a platform lib',
      'libs/contracts/src/probe.ts',
      "import { JsonLogger } from '@tillbus/observability';\nexport const x = JsonLogger;\n",
      /can only depend on libs tagged with "type:codes", "type:validation"/,
    ],
    [
      'the CLI may not import Nest',
      'apps/cli/src/probe.ts',
      "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n",
      /is not allowed to import "@nestjs\/common"/,
    ],
    [
      'the CLI may not import the service runtime',
      'apps/cli/src/probe.ts',
      "import { startService } from '@tillbus/runtime';\nexport const x = startService;\n",
      /can not depend on libs tagged with "type:runtime"/,
    ],
    [
      'no relative imports across projects',
      'libs/protocols/antom/src/probe.ts',
      "import { SUBJECTS } from '../../../messaging/src/subjects';\nexport const x = SUBJECTS;\n",
      /relative or absolute path/,
    ],
  ])('%s', async (_name, filePath, code, expected) => {
    const errors = await boundaryErrors(filePath, code);
    expect(errors.join('\n')).toMatch(expected);
  });

  it('allows what the architecture allows', async () => {
    const allowed = [
      [
        'libs/protocols/antom/src/probe.ts',
        "import { validatePlain } from '@tillbus/validation';\nimport { OUTCOMES } from '@tillbus/result-codes';\nimport { createSign } from 'node:crypto';\nexport const x = [validatePlain, OUTCOMES, createSign];\n",
      ],
      [
        'libs/messaging/src/probe.ts',
        "import { JsonLogger } from '@tillbus/observability';\nimport { Injectable } from '@nestjs/common';\nexport const x = [JsonLogger, Injectable];\n",
      ],
      [
        'apps/cli/src/probe.ts',
        "import { SUBJECTS } from '@tillbus/contracts';\nimport { requestOnConnection } from '@tillbus/messaging';\nexport const x = [SUBJECTS, requestOnConnection];\n",
      ],
      [
        'libs/contracts/src/probe.ts',
        "import { IsString } from 'class-validator';\nimport { OUTCOMES } from '@tillbus/result-codes';\nexport const x = [IsString, OUTCOMES];\n",
      ],
    ];
    for (const [filePath, code] of allowed)
      expect(await boundaryErrors(filePath, code)).toEqual([]);
  });
});
