# A multi-Region key with automatic rotation in the first region, its replica in the second (the
# replica's provider sends ReplicateKey to its own endpoint, signed for the primary's region), and
# an alias in each region.

resource "aws_kms_key" "primary" {
  description             = "terraform multi-Region primary"
  multi_region            = true
  enable_key_rotation     = true
  rotation_period_in_days = 90
  deletion_window_in_days = 7
  tags                    = { scenario = "multi-region" }
}

resource "aws_kms_replica_key" "replica" {
  provider                = aws.second
  description             = "terraform multi-Region replica"
  primary_key_arn         = aws_kms_key.primary.arn
  deletion_window_in_days = 7
  tags                    = { scenario = "multi-region" }
}

resource "aws_kms_alias" "primary" {
  name          = "alias/terraform-multi-region"
  target_key_id = aws_kms_key.primary.key_id
}

resource "aws_kms_alias" "replica" {
  provider      = aws.second
  name          = "alias/terraform-multi-region"
  target_key_id = aws_kms_replica_key.replica.key_id
}
