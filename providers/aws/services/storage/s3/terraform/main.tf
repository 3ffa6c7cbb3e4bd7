# S3 buckets for the infrar storage capability: one per logical name in the code, private,
# encrypted with a customer-managed KMS key, TLS-only, versioned, and one IAM policy that
# grants exactly the actions the code performs, on exactly these buckets.

variable "buckets" {
  description = "Logical name -> physical name and the IAM actions the code uses on it."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "app_role_names" {
  description = "IAM roles that receive the access policy."
  type        = list(string)
  default     = []
}

variable "service_grants" {
  description = "Service name -> its identity and, by logical name, what its code does with each bucket."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "versioning" {
  description = "Keep earlier versions of every object."
  type        = bool
  default     = true
}

variable "noncurrent_version_days" {
  description = "Days after which an earlier object version is deleted."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Let Terraform delete buckets that still hold objects."
  type        = bool
  default     = false
}

variable "kms_deletion_window_days" {
  description = "Days a deleted KMS key can still be recovered."
  type        = number
  default     = 30
}

locals {
  # Actions that apply to the bucket itself; every other action applies to its objects.
  bucket_actions = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"]
  grants = flatten([
    for key, bucket in var.buckets : [
      {
        actions   = sort(setintersection(bucket.permissions, local.bucket_actions))
        resources = [aws_s3_bucket.this[key].arn]
      },
      {
        actions   = sort(setsubtract(bucket.permissions, local.bucket_actions))
        resources = ["${aws_s3_bucket.this[key].arn}/*"]
      },
    ]
  ])
  permissions = flatten([for bucket in var.buckets : bucket.permissions])
  # Objects are encrypted with the key, so reading needs Decrypt and writing GenerateDataKey.
  kms_actions = sort(distinct(concat(
    contains(local.permissions, "s3:GetObject") ? ["kms:Decrypt"] : [],
    contains(local.permissions, "s3:PutObject") ? ["kms:Decrypt", "kms:GenerateDataKey"] : [],
  )))
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.project} ${var.environment} buckets."
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  tags                    = var.tags
  # AWS's default key policy, stated: the account administers the key through IAM. In a key
  # policy the resource "*" is the key itself, never anything else.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministersThroughIam"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18:Access logs need a second, dedicated log bucket per account; that is an account-level choice.
  # checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost and needs a second region; a per-project choice.
  # checkov:skip=CKV2_AWS_62:Event notifications have no consumer here; the SDK reads and writes objects only.
  for_each = var.buckets

  bucket        = each.value.name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = var.versioning ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = var.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    id     = "tidy"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }
}

data "aws_iam_policy_document" "tls_only" {
  for_each = var.buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this[each.key].arn, "${aws_s3_bucket.this[each.key].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "tls_only" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

data "aws_iam_policy_document" "access" {
  dynamic "statement" {
    for_each = [for grant in local.grants : grant if length(grant.actions) > 0]
    content {
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  dynamic "statement" {
    for_each = length(local.kms_actions) > 0 ? [local.kms_actions] : []
    content {
      actions   = statement.value
      resources = [aws_kms_key.this.arn]
    }
  }
}

resource "aws_iam_policy" "access" {
  name_prefix = "infrar-storage-"
  description = "What the ${var.project} ${var.environment} code does with its buckets, and nothing more."
  policy      = data.aws_iam_policy_document.access.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "access" {
  for_each = toset(var.app_role_names)

  role       = each.value
  policy_arn = aws_iam_policy.access.arn
}

# Per service: the same statements, from what that service's code does alone.
locals {
  service_statements = {
    for name, grant in var.service_grants : name => flatten([
      for key, permissions in grant.resources : [
        {
          actions   = sort(setintersection(permissions, local.bucket_actions))
          resources = [aws_s3_bucket.this[key].arn]
        },
        {
          actions   = sort(setsubtract(permissions, local.bucket_actions))
          resources = ["${aws_s3_bucket.this[key].arn}/*"]
        },
      ]
    ])
  }
  service_kms_actions = {
    for name, grant in var.service_grants : name => sort(distinct(concat(
      contains(flatten(values(grant.resources)), "s3:GetObject") ? ["kms:Decrypt"] : [],
      contains(flatten(values(grant.resources)), "s3:PutObject") ? ["kms:Decrypt", "kms:GenerateDataKey"] : [],
    )))
  }
}

data "aws_iam_policy_document" "service" {
  for_each = var.service_grants

  dynamic "statement" {
    for_each = [for grant in local.service_statements[each.key] : grant if length(grant.actions) > 0]
    content {
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  dynamic "statement" {
    for_each = length(local.service_kms_actions[each.key]) > 0 ? [local.service_kms_actions[each.key]] : []
    content {
      actions   = statement.value
      resources = [aws_kms_key.this.arn]
    }
  }
}

resource "aws_iam_role_policy" "service" {
  for_each = var.service_grants

  name   = "infrar-storage"
  role   = each.value.principal
  policy = data.aws_iam_policy_document.service[each.key].json
}

output "bucket_names" {
  description = "Physical bucket names, by logical name."
  value       = { for key, bucket in aws_s3_bucket.this : key => bucket.bucket }
}

output "bucket_arns" {
  description = "Bucket ARNs, by logical name."
  value       = { for key, bucket in aws_s3_bucket.this : key => bucket.arn }
}

output "access_policy_arn" {
  description = "The least-privilege IAM policy for what the code does."
  value       = aws_iam_policy.access.arn
}

output "kms_key_arn" {
  description = "The KMS key that encrypts every bucket."
  value       = aws_kms_key.this.arn
}
