import type { FastifyInstance } from 'fastify';
import type { CloudHsmOperation, CloudHsmService } from '../../hsm/index.ts';
import type { Caller } from '../../kms/index.ts';
import { cloudHsmModel } from '../cloudhsm/cloudhsm-surface.ts';
import { validateInput } from '../aws-json/validate-input.ts';
import { rawBody } from '../raw-body.ts';
import { ConsoleError } from './console-error.ts';
import { parseObject } from './parse-object.ts';

export interface HsmRoutesOptions {
  service: CloudHsmService;
  /** Decides `cloudhsm:<action>` on a resource by the caller's identity policies, as the CloudHSM v2 API does. */
  authorize: (caller: Caller, action: string, resource: string) => Promise<void>;
}

/** The CloudHSM v2 operations the HSM pages perform: reading clusters and backups, adding and removing HSMs, and the backups' actions. */
const CONSOLE_OPERATIONS: ReadonlySet<CloudHsmOperation> = new Set<CloudHsmOperation>([
  'DescribeClusters',
  'DescribeBackups',
  'CreateCluster',
  'DeleteCluster',
  'CreateHsm',
  'DeleteHsm',
  'CopyBackupToRegion',
  'DeleteBackup',
  'RestoreBackup',
  'ModifyBackupAttributes',
]);

/**
 * The HSM clusters, HSMs and backups pages: `POST /api/cloudhsm/<Operation>` takes the
 * operation's input as the CloudHSM v2 API does, checked against the same botocore model, and
 * performs it with the session's caller through the same `cloudhsm:<Action>` authorization.
 */
export function hsmRoutes(scope: FastifyInstance, options: HsmRoutesOptions | undefined): void {
  scope.post<{ Params: { operation: string } }>('/api/cloudhsm/:operation', async (request, reply) => {
    if (!options) throw new ConsoleError(404, 'NotFound', 'This region does not serve CloudHSM.');
    const { service, authorize } = options;
    const name = request.params.operation;
    const model = service.performs(name) && CONSOLE_OPERATIONS.has(name) ? cloudHsmModel.operations[name] : undefined;
    if (!service.performs(name) || !model?.input) throw new ConsoleError(404, 'UnknownOperation', `The console does not perform ${name}.`);
    request.operation = `cloudhsm:${name}`;
    const audit = (request.audit = { ...request.audit, source: 'cloudhsm', eventName: name });
    const input = (audit.input = validateInput(cloudHsmModel, model.input, parseObject(rawBody(request))));
    const caller = request.consoleCaller!;
    void reply.header('cache-control', 'no-store');
    return service.call(name, input, (action, resource) => authorize(caller, action, resource));
  });
}
