# Imported key material: a multi-Region external key and its replica holding the same material.

variable "key_material_base64" {
  type      = string
  sensitive = true
}

resource "aws_kms_external_key" "primary" {
  description             = "terraform external multi-Region primary"
  multi_region            = true
  key_material_base64     = var.key_material_base64
  deletion_window_in_days = 7
  # Without it the provider disables the key after the import, and ReplicateKey refuses a
  # disabled primary (DisabledException), as AWS does; the provider's own tests set it too.
  enabled = true
}

resource "aws_kms_replica_external_key" "replica" {
  provider                = aws.second_through_first
  description             = "terraform external multi-Region replica"
  primary_key_arn         = aws_kms_external_key.primary.arn
  key_material_base64     = var.key_material_base64
  deletion_window_in_days = 7
  enabled                 = true
}

resource "aws_kms_alias" "external" {
  name          = "alias/terraform-external"
  target_key_id = aws_kms_external_key.primary.id
}
