# SQS queues for the infrar queue capability: one standard queue per logical name in the code,
# each with a dead-letter queue that receives a message after it was delivered
# `max_receive_count` times without an ack. All of them are encrypted with a customer-managed
# KMS key, refuse requests without TLS, and one IAM policy grants exactly the actions the code
# performs, on exactly these queues.

variable "queues" {
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
  description = "Service name -> its identity and, by logical name, what its code does with each queue."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of a message received without one of its own."
  type        = number
  default     = 30
}

variable "message_retention_seconds" {
  description = "How long a queue keeps a message nobody acknowledges."
  type        = number
  default     = 345600
}

variable "max_receive_count" {
  description = "Deliveries without an ack after which a message moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "dead_letter_retention_seconds" {
  description = "How long a dead-letter queue keeps a message."
  type        = number
  default     = 1209600
}

variable "kms_deletion_window_days" {
  description = "Days a deleted KMS key can still be recovered."
  type        = number
  default     = 30
}

locals {
  permissions = flatten([for queue in var.queues : queue.permissions])
  # Messages are encrypted with the key: sending needs GenerateDataKey and Decrypt, receiving
  # Decrypt.
  kms_actions = sort(distinct(concat(
    contains(local.permissions, "sqs:SendMessage") ? ["kms:Decrypt", "kms:GenerateDataKey"] : [],
    contains(local.permissions, "sqs:ReceiveMessage") ? ["kms:Decrypt"] : [],
  )))
  # Every queue, dead-letter queues too, for what applies to all of them ("/" is never in a
  # logical name, so the keys cannot collide).
  every_queue = merge(
    { for key, queue in var.queues : "queue/${key}" => aws_sqs_queue.this[key] },
    { for key, queue in var.queues : "dead-letter/${key}" => aws_sqs_queue.dead_letter[key] },
  )
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.project} ${var.environment} queues."
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

resource "aws_sqs_queue" "dead_letter" {
  for_each = var.queues

  name                              = "${each.value.name}-dlq"
  message_retention_seconds         = var.dead_letter_retention_seconds
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

resource "aws_sqs_queue" "this" {
  for_each = var.queues

  name                              = each.value.name
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  message_retention_seconds         = var.message_retention_seconds
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

resource "aws_sqs_queue_redrive_policy" "this" {
  for_each = var.queues

  queue_url = aws_sqs_queue.this[each.key].id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  for_each = var.queues

  queue_url = aws_sqs_queue.dead_letter[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[each.key].arn]
  })
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.every_queue

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value.arn]
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

resource "aws_sqs_queue_policy" "tls_only" {
  for_each = local.every_queue

  queue_url = each.value.id
  policy    = data.aws_iam_policy_document.tls_only[each.key].json
}

data "aws_iam_policy_document" "access" {
  dynamic "statement" {
    for_each = { for key, queue in var.queues : key => queue if length(queue.permissions) > 0 }
    content {
      actions   = sort(statement.value.permissions)
      resources = [aws_sqs_queue.this[statement.key].arn]
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
  name_prefix = "infrar-queue-"
  description = "What the ${var.project} ${var.environment} code does with its queues, and nothing more."
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
  service_kms_actions = {
    for name, grant in var.service_grants : name => sort(distinct(concat(
      contains(flatten(values(grant.resources)), "sqs:SendMessage") ? ["kms:Decrypt", "kms:GenerateDataKey"] : [],
      contains(flatten(values(grant.resources)), "sqs:ReceiveMessage") ? ["kms:Decrypt"] : [],
    )))
  }
}

data "aws_iam_policy_document" "service" {
  for_each = var.service_grants

  dynamic "statement" {
    for_each = { for key, permissions in each.value.resources : key => permissions if length(permissions) > 0 }
    content {
      actions   = sort(statement.value)
      resources = [aws_sqs_queue.this[statement.key].arn]
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

  name   = "infrar-queue"
  role   = each.value.principal
  policy = data.aws_iam_policy_document.service[each.key].json
}

output "queue_urls" {
  description = "Queue URLs, by logical name."
  value       = { for key, queue in aws_sqs_queue.this : key => queue.id }
}

output "queue_arns" {
  description = "Queue ARNs, by logical name."
  value       = { for key, queue in aws_sqs_queue.this : key => queue.arn }
}

output "dead_letter_queue_urls" {
  description = "Dead-letter queue URLs, by the logical name of their queue."
  value       = { for key, queue in aws_sqs_queue.dead_letter : key => queue.id }
}

output "access_policy_arn" {
  description = "The least-privilege IAM policy for what the code does."
  value       = aws_iam_policy.access.arn
}

output "kms_key_arn" {
  description = "The KMS key that encrypts every queue."
  value       = aws_kms_key.this.arn
}
