"""gp3 limits, one place for the ECS node pool (components/ecs/capacity.py) and the EKS Karpenter node class
(components/eks/gpu_capacity.py).

From the pinned botocore (requirements.lock botocore==1.44.8), botocore/data/ec2/2016-11-15/service-2.json.gz,
CreateVolumeRequest: Size "gp3: 1 - 65,536 GiB"; Iops "gp3: 3,000 (default) - 80,000 IOPS"; Throughput
"Valid Range: 125 - 2000 MiB/s" (tests/test_gpu_node_pool.py reads them back from that file). The throughput
to IOPS ratio (at most 0.25 MiB/s per provisioned IOPS) is the EBS user guide's "General Purpose SSD
volumes" gp3 row.
"""

from __future__ import annotations

GP3_MAX_GIB = 65536
GP3_MIN_IOPS, GP3_MAX_IOPS = 3000, 80000
GP3_MIN_MIBPS, GP3_MAX_MIBPS = 125, 2000
GP3_MIBPS_PER_IOPS = 0.25
